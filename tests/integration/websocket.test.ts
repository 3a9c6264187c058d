import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { MAX_SUBSCRIPTIONS_PER_CONNECTION, WS_MAX_PAYLOAD_BYTES } from '../../src/lib/protocol/limits.js';
import { serverMessageSchema } from '../../src/lib/protocol/messages.js';
import { createExecution, outputEvents, postEvents, range, request } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';
import { WsClient } from '../helpers/ws.js';

let server: TestServer;
const clients: WsClient[] = [];

async function connect(options?: ConstructorParameters<typeof import('ws').WebSocket>[2]): Promise<WsClient> {
	const client = await WsClient.connect(server.wsUrl, options as never);
	clients.push(client);
	return client;
}

beforeAll(async () => {
	server = await TestServer.start();
});

afterEach(() => {
	for (const client of clients.splice(0)) client.terminate();
});

afterAll(async () => {
	await server?.cleanup();
});

describe('upgrade', () => {
	test('a foreign Origin is refused with 403; same-origin and no Origin are accepted', async () => {
		const refused = await WsClient.connect(server.wsUrl, { origin: 'http://evil.example' }).catch((e: { status?: number; body?: string }) => e);
		expect(refused).toMatchObject({ status: 403 });
		expect(JSON.parse((refused as { body: string }).body)).toMatchObject({ error: { code: 'forbidden' } });

		const other = await WsClient.connect(server.wsUrl, { origin: `http://127.0.0.1:${server.port + 1}` }).catch((e: { status?: number }) => e);
		expect(other).toMatchObject({ status: 403 });

		const same = await connect({ origin: server.url });
		const none = await connect();
		for (const client of [same, none]) {
			client.send({ type: 'ping' });
			await client.nextFrame('pong');
		}
	});

	test('other upgrade paths are not ours', async () => {
		const refused = await WsClient.connect(`ws://127.0.0.1:${server.port}/not-ws`).catch((e: { status?: number }) => e);
		expect(refused).toMatchObject({ status: 404 });
	});

	test('a plain GET on /api/ws says upgrade required, in JSON', async () => {
		const response = await request(server, 'GET', '/api/ws', { auth: false });
		expect(response.status).toBe(426);
		expect(response.body.error.code).toBe('upgrade_required');
	});
});

describe('frames', () => {
	test('ping → pong; every server frame matches the protocol schema', async () => {
		const id = await createExecution(server);
		await postEvents(server, id, outputEvents(3));
		const client = await connect();
		client.send({ type: 'ping' });
		await client.nextFrame('pong');
		await client.subscribe(id, 0);
		await client.waitForSeq(id, 3);
		client.send('nope');
		await client.nextFrame('error');
		for (const frame of client.frames) expect(serverMessageSchema.safeParse(frame).success, JSON.stringify(frame)).toBe(true);
	});

	test('bad frames get an error frame; the connection and other clients carry on', async () => {
		const id = await createExecution(server);
		const bad = await connect();
		const bystander = await connect();
		await bystander.subscribe(id, 0);

		const badFrames: [unknown, string?][] = [
			['this is not json'],
			['{"type":"subscribe"'],
			[{ type: 'dance' }],
			[{ type: 'subscribe', executionId: 'bad id!' }],
			[{ type: 'subscribe', executionId: 'x'.repeat(100) }],
			[{ type: 'subscribe', executionId: id, since: -1 }, id],
			[{ type: 'subscribe', executionId: id, since: 'zero' }, id],
			[{ type: 'ping', extra: true }],
			['null'],
			['[]']
		];
		for (const [frame, executionId] of badFrames) {
			const from = bad.frames.length;
			bad.send(frame);
			const error = await bad.nextFrame('error', from);
			expect(error.code).toBe('bad_request');
			expect(error.message.length).toBeGreaterThan(0);
			if (executionId) expect(error.executionId).toBe(executionId);
		}
		// Binary frames too.
		let from = bad.frames.length;
		bad.ws.send(Buffer.from([1, 2, 3]), { binary: true });
		expect((await bad.nextFrame('error', from)).code).toBe('bad_request');

		// Still working: ping, subscribe, live events.
		from = bad.frames.length;
		bad.send({ type: 'ping' });
		await bad.nextFrame('pong', from);
		await bad.subscribe(id, 0);
		await postEvents(server, id, outputEvents(5));
		await bad.waitForSeq(id, 5);
		await bystander.waitForSeq(id, 5);
		expect(bad.seqs(id)).toEqual(range(1, 5));
		expect(bystander.seqs(id)).toEqual(range(1, 5));
		expect(bad.closed).toBeUndefined();
		expect(bystander.frames.filter((f) => f.type === 'error')).toEqual([]);
	});

	test(`a frame over WS_MAX_PAYLOAD_BYTES (${WS_MAX_PAYLOAD_BYTES}) closes with 1009; others are unaffected`, async () => {
		const id = await createExecution(server);
		const bystander = await connect();
		await bystander.subscribe(id, 0);
		const abuser = await connect();
		abuser.send({ type: 'ping', padding: 'x'.repeat(WS_MAX_PAYLOAD_BYTES) });
		expect((await abuser.waitForClose()).code).toBe(1009);

		await postEvents(server, id, outputEvents(2));
		await bystander.waitForSeq(id, 2);
		expect(bystander.seqs(id)).toEqual([1, 2]);

		// Just under the limit is a (bad) frame, not a close.
		const ok = await connect();
		ok.send('x'.repeat(WS_MAX_PAYLOAD_BYTES - 10));
		expect((await ok.nextFrame('error')).code).toBe('bad_request');
		expect(ok.closed).toBeUndefined();
	});

	test('subscribing to an unknown execution → not_found, and the connection carries on', async () => {
		const client = await connect();
		client.send({ type: 'subscribe', executionId: 'no-such-execution', since: 0 });
		const error = await client.nextFrame('error');
		expect(error).toMatchObject({ code: 'not_found', executionId: 'no-such-execution' });
		client.send({ type: 'ping' });
		await client.nextFrame('pong');
	});

	test(`more than MAX_SUBSCRIPTIONS_PER_CONNECTION (${MAX_SUBSCRIPTIONS_PER_CONNECTION}) → too_many_subscriptions`, async () => {
		const ids = await Promise.all(range(0, MAX_SUBSCRIPTIONS_PER_CONNECTION).map(() => createExecution(server)));
		const client = await connect();
		for (const id of ids.slice(0, MAX_SUBSCRIPTIONS_PER_CONNECTION)) client.send({ type: 'subscribe', executionId: id, since: 0 });
		await client.waitUntil(() => client.frames.filter((f) => f.type === 'subscribed').length === MAX_SUBSCRIPTIONS_PER_CONNECTION, 'all subscriptions');

		const extra = ids.at(-1)!;
		let from = client.frames.length;
		client.send({ type: 'subscribe', executionId: extra, since: 0 });
		expect(await client.nextFrame('error', from)).toMatchObject({ code: 'too_many_subscriptions', executionId: extra });

		// Re-subscribing to one it has is not a new subscription.
		await client.subscribe(ids[0]!, 0);
		// Unsubscribing frees a place.
		client.send({ type: 'unsubscribe', executionId: ids[1] });
		expect(await client.subscribe(extra, 0)).toBe(0);
		await postEvents(server, extra, outputEvents(1));
		await client.waitForSeq(extra, 1);
		from = client.frames.length;
		await postEvents(server, ids[1]!, outputEvents(1));
		client.send({ type: 'ping' });
		await client.nextFrame('pong', from);
		await new Promise((r) => setTimeout(r, 50));
		expect(client.seqs(ids[1]!)).toEqual([]);
	});

	test('a subscribe without since gets only events after subscribed.lastSeq', async () => {
		const id = await createExecution(server);
		await postEvents(server, id, outputEvents(7));
		const client = await connect();
		const lastSeq = await client.subscribe(id);
		expect(lastSeq).toBe(7);
		await postEvents(server, id, outputEvents(3));
		await client.waitForSeq(id, 10);
		expect(client.seqs(id)).toEqual([8, 9, 10]);
		expect(client.violations).toEqual([]);
	});

	test('since past the end is clamped to the end, and subscribed says where that is', async () => {
		const id = await createExecution(server);
		await postEvents(server, id, outputEvents(2));
		const client = await connect();
		client.send({ type: 'subscribe', executionId: id, since: 50 });
		expect(await client.nextFrame('subscribed')).toMatchObject({ executionId: id, lastSeq: 2 });
		await postEvents(server, id, outputEvents(1));
		await client.waitUntil(() => client.events.get(id)?.length === 1, 'the next event');
		expect(client.events.get(id)!.map((e) => e.seq)).toEqual([3]);
	});

	test('unsubscribe stops the stream; a second subscribe to the same execution replaces the first', async () => {
		const id = await createExecution(server);
		await postEvents(server, id, outputEvents(4));
		const client = await connect();
		await client.subscribe(id, 0);
		await client.waitForSeq(id, 4);
		// Re-subscribe from 2: events 3..4 come again, then live ones, once.
		client.events.delete(id);
		await client.subscribe(id, 2);
		await postEvents(server, id, outputEvents(1));
		await client.waitForSeq(id, 5);
		expect(client.seqs(id)).toEqual([3, 4, 5]);

		client.send({ type: 'unsubscribe', executionId: id });
		const from = client.frames.length;
		client.send({ type: 'ping' });
		await client.nextFrame('pong', from);
		await postEvents(server, id, outputEvents(2));
		await new Promise((r) => setTimeout(r, 100));
		expect(client.seqs(id)).toEqual([3, 4, 5]);
	});

	test('events of one execution never reach viewers of another', async () => {
		const a = await createExecution(server);
		const b = await createExecution(server);
		const client = await connect();
		await client.subscribe(a, 0);
		await postEvents(server, b, outputEvents(3));
		await postEvents(server, a, outputEvents(1));
		await client.waitForSeq(a, 1);
		expect([...client.events.keys()]).toEqual([a]);
	});
});
