import { afterEach, expect, test } from 'vitest';
import { RecordingServer } from '../test/recording-server.js';
import { resolveConfig, type RunwatchOptions } from './config.js';
import { DeliveryLink } from './delivery-link.js';
import type { RunwatchClientError } from './errors.js';

// Under vitest the worker's compiled file is not there, so the link delivers from this thread:
// the same host and ring as the delivery thread, which the integration tests run (packed client).
let server: RecordingServer;
afterEach(() => server?.close());

function link(options: RunwatchOptions, ringUnits: number, errors: RunwatchClientError[] = []): DeliveryLink {
	return new DeliveryLink(resolveConfig({ url: server.url, token: 'tok', flushIntervalMs: 5, watchCancel: false, onError: (e) => errors.push(e), ...options }), ringUnits);
}

const handle = { created: () => {}, cancel: () => {} };

test('a burst larger than the ring waits on this side and arrives whole and in order', async () => {
	server = await RecordingServer.start();
	const delivery = link({ maxQueueEvents: 10_000 }, 1024);
	expect(delivery.threaded).toBe(false);
	const slot = delivery.open(handle, 'burst', '{"agent":{"name":"a"},"id":"burst"}');
	// 300 records of ~20 units through a ring of 1,024 units: most wait for room.
	for (let n = 0; n < 300; n++) delivery.output(slot, `line ${n}`, undefined, undefined);
	delivery.json(slot, true, '{"type":"agent-complete","ts":"2026-12-03T00:00:00.000Z"}', true);
	expect(delivery.stats().queued).toBe(301);
	expect(await delivery.request({ op: 'flush', timeoutMs: 10_000 })).toBe(true);
	const events = server.events;
	expect(events.slice(0, 300).map((e) => e.data.text)).toEqual(Array.from({ length: 300 }, (_, n) => `line ${n}`));
	expect(events.length, JSON.stringify(events.slice(-2))).toBe(301);
	expect(events[300].type).toBe('agent-complete');
	expect(delivery.stats()).toMatchObject({ sent: 301, dropped: 0, queued: 0 });
	await delivery.close(1000);
});

test('over the queue budget the newest are dropped and said once; an execution\'s end never is', async () => {
	server = await RecordingServer.start();
	const errors: RunwatchClientError[] = [];
	const delivery = link({ maxQueueEvents: 50 }, 1024, errors);
	const slot = delivery.open(handle, 'budget', '{"agent":{"name":"a"},"id":"budget"}');
	for (let n = 0; n < 300; n++) delivery.output(slot, `line ${n}`, undefined, undefined);
	delivery.json(slot, true, '{"type":"agent-complete","ts":"2026-12-03T00:00:00.000Z"}', true);
	expect(await delivery.request({ op: 'flush', timeoutMs: 10_000 })).toBe(true);
	const texts = server.events.filter((e) => e.type === 'output').map((e) => e.data.text);
	// A gapless beginning of the timeline: what was kept is the oldest, in order.
	expect(texts).toEqual(Array.from({ length: texts.length }, (_, n) => `line ${n}`));
	expect(texts.length).toBeLessThanOrEqual(50);
	expect(server.events.some((e) => e.type === 'agent-complete')).toBe(true);
	const stats = delivery.stats();
	expect(stats.dropped).toBe(300 - texts.length);
	expect(errors.filter((e) => e.code === 'dropped')).toHaveLength(1);
	await delivery.close(1000);
});

test('an event too big for the ring is dropped with a reason; the ones around it go', async () => {
	server = await RecordingServer.start();
	const errors: RunwatchClientError[] = [];
	const delivery = link({}, 1024, errors);
	const slot = delivery.open(handle, 'big', '{"agent":{"name":"a"},"id":"big"}');
	delivery.output(slot, 'before', undefined, undefined);
	delivery.output(slot, 'x'.repeat(2000), undefined, undefined);
	delivery.output(slot, 'after', undefined, undefined);
	expect(await delivery.request({ op: 'flush', timeoutMs: 10_000 })).toBe(true);
	expect(server.events.map((e) => e.data.text)).toEqual(['before', 'after']);
	expect(delivery.stats().dropped).toBe(1);
	expect(errors[0]?.message).toMatch(/over half the delivery ring/);
	await delivery.close(1000);
});

test('after close() the old executions are done (their events dropped), and one opened later is delivered', async () => {
	server = await RecordingServer.start();
	const delivery = link({}, 1024);
	const first = delivery.open(handle, 'first', '{"agent":{"name":"a"},"id":"first"}');
	delivery.output(first, 'one', undefined, undefined);
	await delivery.close(5000);
	delivery.output(first, 'after close', undefined, undefined);
	const second = delivery.open(handle, 'second', '{"agent":{"name":"a"},"id":"second"}');
	delivery.output(second, 'two', undefined, undefined);
	delivery.output(first, 'old execution, new delivery', undefined, undefined);
	expect(await delivery.request({ op: 'flush', timeoutMs: 10_000 })).toBe(true);
	expect(server.requests.filter((r) => r.path === '/api/executions').map((r) => r.body.id)).toEqual(['first', 'second']);
	expect(server.events.map((e) => e.data.text)).toEqual(['one', 'two']);
	expect(delivery.stats()).toMatchObject({ sent: 2, dropped: 2, queued: 0 });
	await delivery.close(1000);
});

test('a flush asked while close() ends delivery settles (false) instead of waiting for ever', async () => {
	server = await RecordingServer.start();
	const delivery = link({}, 1024);
	const slot = delivery.open(handle, 'closing', '{"agent":{"name":"a"},"id":"closing"}');
	for (let n = 0; n < 2000; n++) delivery.own(slot, false, 'log', { level: 'info', message: `message ${n} ${'m'.repeat(200)}` }, undefined, false);
	const flushed = delivery.request({ op: 'flush', timeoutMs: 5000 });
	await delivery.close(1);
	const settled = await Promise.race([flushed, new Promise((resolve) => setTimeout(() => resolve('not settled'), 8000))]);
	expect(typeof settled).toBe('boolean');
});
