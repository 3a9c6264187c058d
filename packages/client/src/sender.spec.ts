import { afterEach, expect, test } from 'vitest';
import { RecordingServer } from '../test/recording-server.js';
import { resolveConfig } from './config.js';
import type { RunwatchClientError } from './errors.js';
import { createDeliveryContext, ExecutionSender } from './sender.js';

let server: RecordingServer;
afterEach(() => server?.close());

function context(errors: RunwatchClientError[] = [], options = {}) {
	return createDeliveryContext(resolveConfig({ url: server.url, token: 'tok', flushIntervalMs: 5, maxRetryDelayMs: 50, onError: (e) => errors.push(e), ...options }));
}

const event = (sender: ExecutionSender, n: number) => ({ id: sender.nextEventId(), type: 'output', ts: new Date().toISOString(), data: { text: `${n}` } });

test('creates the execution first, then posts events in order with the bearer token, batched', async () => {
	server = await RecordingServer.start();
	const ctx = context();
	const sender = new ExecutionSender(ctx, 'exec-1', { agent: { name: 'a' } });
	for (let n = 0; n < 1200; n++) sender.enqueue(event(sender, n));
	expect(await sender.flush(10_000)).toBe(true);
	expect(server.requests[0]).toMatchObject({ method: 'POST', path: '/api/executions', body: { id: 'exec-1', agent: { name: 'a' } } });
	expect(server.requests.every((r) => r.headers.authorization === 'Bearer tok')).toBe(true);
	expect(server.events.map((e) => e.data.text)).toEqual(Array.from({ length: 1200 }, (_, n) => `${n}`));
	expect(Math.max(...server.requests.slice(1).map((r) => r.body.events.length))).toBeLessThanOrEqual(500);
	expect(ctx.stats).toMatchObject({ sent: 1200, dropped: 0, failed: 0 });
});

test('503 with Retry-After and 500s are retried with the same event ids; nothing is lost or reordered', async () => {
	server = await RecordingServer.start();
	server.respond = (r, i) => (i === 0 ? { status: 503, body: {}, headers: { 'retry-after': '0' } } : r.path.endsWith('/events') && i % 2 === 0 ? { status: 500 } : undefined);
	const errors: RunwatchClientError[] = [];
	const ctx = context(errors, { maxBatchEvents: 10 });
	const sender = new ExecutionSender(ctx, 'exec-2', { agent: { name: 'a' } });
	for (let n = 0; n < 50; n++) sender.enqueue(event(sender, n));
	expect(await sender.flush(20_000)).toBe(true);
	const accepted = server.requests.filter((r, i) => r.path.endsWith('/events') && i % 2 !== 0).flatMap((r) => r.body.events);
	expect(accepted.map((e) => e.data.text)).toEqual(Array.from({ length: 50 }, (_, n) => `${n}`));
	// every retried batch went out again with the very same ids
	const sentIds = server.events.map((e) => e.id);
	expect(new Set(sentIds).size).toBe(50);
	expect(ctx.stats.retries).toBeGreaterThan(0);
	expect(errors.map((e) => e.code)).toContain('unreachable');
});

test('a batch refused for its content is halved until the bad event is found; only that one is lost', async () => {
	server = await RecordingServer.start();
	server.respond = (r) => (r.path.endsWith('/events') && r.body.events.some((e: any) => e.data.text === 'bad') ? { status: 400, body: { error: { code: 'invalid_event', message: 'x' } } } : undefined);
	const errors: RunwatchClientError[] = [];
	const ctx = context(errors);
	const sender = new ExecutionSender(ctx, 'exec-3', { agent: { name: 'a' } });
	for (let n = 0; n < 40; n++) sender.enqueue(n === 17 ? { ...event(sender, n), data: { text: 'bad' } } : event(sender, n));
	expect(await sender.flush(10_000)).toBe(true);
	const stored = server.requests.filter((r) => r.path.endsWith('/events') && !r.body.events.some((e: any) => e.data.text === 'bad')).flatMap((r) => r.body.events);
	expect(stored.map((e) => e.data.text)).toEqual(Array.from({ length: 40 }, (_, n) => `${n}`).filter((t) => t !== '17'));
	expect(ctx.stats).toMatchObject({ sent: 39, failed: 1 });
	expect(errors.map((e) => e.code)).toEqual(['refused']);
});

test('a refused token stops delivery for that execution and says how to get one', async () => {
	server = await RecordingServer.start();
	server.respond = () => ({ status: 401, body: { error: { code: 'unauthorized', message: 'no' } } });
	const errors: RunwatchClientError[] = [];
	const ctx = context(errors);
	const sender = new ExecutionSender(ctx, 'exec-4', { agent: { name: 'a' } });
	for (let n = 0; n < 5; n++) sender.enqueue(event(sender, n));
	await sender.flush(10_000);
	sender.enqueue(event(sender, 5));
	expect(server.requests).toHaveLength(1);
	expect(ctx.stats).toMatchObject({ sent: 0, failed: 6 });
	expect(errors[0]!.message).toMatch(/cat data\/ingest-token/);
});

test("the client's own events are serialised at send time: in order with the others, distinct ids, their time kept", async () => {
	server = await RecordingServer.start();
	const ctx = context();
	const sender = new ExecutionSender(ctx, 'exec-5', { agent: { name: 'a' } });
	const before = Date.now();
	sender.enqueueOwn('output', { text: 'one' }, undefined, undefined, false);
	sender.enqueue(event(sender, 2));
	sender.enqueueOwn('log', { level: 'warn', message: 'm'.repeat(300_000) }, 'step-1', 'step-0', false);
	sender.enqueueOwn('agent-complete', undefined, undefined, undefined, true);
	expect(await sender.flush(10_000)).toBe(true);
	const events = server.events;
	expect(events.map((e) => e.type)).toEqual(['output', 'output', 'log', 'agent-complete']);
	expect(new Set(events.map((e) => e.id)).size).toBe(4);
	expect(events[2]).toMatchObject({ stepId: 'step-1', parentStepId: 'step-0', data: { level: 'warn' } });
	// Over the event limit: truncated as `serialiseEvent` does, not refused.
	expect(JSON.stringify(events[2]).length).toBeLessThan(250 * 1024);
	expect(Date.parse(events[0].ts)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
	expect(events[3].data).toBeUndefined();
});

test('a batch is cut by its exact UTF-8 bytes, computed at send time', async () => {
	server = await RecordingServer.start();
	const ctx = context([], { maxBatchBytes: 64 * 1024, flushIntervalMs: 1000 });
	const sender = new ExecutionSender(ctx, 'exec-6', { agent: { name: 'a' } });
	// 3 bytes of UTF-8 per character: 20 of these are ~60 KiB as characters but ~180 KiB as bytes.
	for (let n = 0; n < 20; n++) sender.enqueueOwn('output', { text: '€'.repeat(3000) }, undefined, undefined, false);
	expect(await sender.flush(10_000)).toBe(true);
	const posts = server.requests.filter((r) => r.path.endsWith('/events'));
	expect(posts.length).toBeGreaterThanOrEqual(3);
	for (const post of posts) expect(Buffer.byteLength(JSON.stringify(post.body))).toBeLessThanOrEqual(64 * 1024);
	expect(posts.flatMap((r) => r.body.events)).toHaveLength(20);
});

test('under a steady trickle, a request waits flushIntervalMs for its batch to fill, even when the server answers at once', async () => {
	server = await RecordingServer.start();
	const ctx = context([], { flushIntervalMs: 200 });
	const sender = new ExecutionSender(ctx, 'exec-7', { agent: { name: 'a' } });
	await sender.created;
	const started = Date.now();
	// About one event every 5 ms for a second: sending whatever is queued whenever the previous
	// request is answered would make a request of one or two events each time.
	for (let n = 0; n < 200; n++) {
		sender.enqueueOwn('output', { text: `${n}` }, undefined, undefined, false);
		await new Promise((r) => setTimeout(r, 5));
	}
	expect(await sender.flush(10_000)).toBe(true);
	const posts = server.requests.filter((r) => r.path.endsWith('/events'));
	expect(posts.flatMap((r) => r.body.events.map((e: any) => e.data.text))).toEqual(Array.from({ length: 200 }, (_, n) => `${n}`));
	// One request per 200 ms at most (and the final flush), however long the trickle took.
	expect(posts.length).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 200) + 2);
	expect(posts[0]!.body.events.length).toBeGreaterThan(1);
});
