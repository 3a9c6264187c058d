import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { redisGate, TestRedis } from '../../../../tests/helpers/redis.js';
import { BUS_MAX_INLINE_BYTES } from '../../protocol/limits.js';
import type { Execution } from '../../protocol/executions.js';
import { SseRelay } from '../sse/relay.js';
import { LocalBus, type Bus, type BusMessage } from './bus.js';
import { deliverNews, News } from './news.js';
import { decodeMessage as decodeBytes, encodeMessage, forWire, RedisBus } from './redis-bus.js';
import { describeRedisUrl } from './redis-url.js';

const decodeMessage = (payload: string) => decodeBytes(Buffer.from(payload));

const rows = (from: number, to: number) =>
	Array.from({ length: to - from + 1 }, (_, i) => ({
		seq: from + i,
		// Escaped newlines, quotes and non-ASCII survive as the very text stored.
		json: JSON.stringify({ seq: from + i, id: `e${from + i}`, type: 'output', data: { text: 'line\nnext "q" é 😀' } })
	}));

describe('wire format', () => {
	test('rows travel as the exact stored JSON text, one per line after the envelope', () => {
		const message: BusMessage = { type: 'rows', executionId: 'x', rows: rows(3, 6) };
		const payload = encodeMessage('node1', message);
		expect(payload.split('\n')).toHaveLength(5);
		expect(decodeMessage(payload)).toEqual({ origin: 'node1', message });
	});

	test('every other message round-trips as JSON', () => {
		const messages: BusMessage[] = [
			{ type: 'deleted', executionId: 'x' },
			{ type: 'session-ended', sessionId: 's' },
			{ type: 'share-revoked', shareId: 'h' },
			{ type: 'stored', executionId: 'x', lastSeq: 9 },
			{ type: 'resync' },
			{ type: 'sse-post', from: 'n', requestId: 'r', sessionId: 'n.s', messages: [{ type: 'subscribe', executionId: 'x' }] },
			{ type: 'sse-ack', requestId: 'r', found: true },
			{ type: 'rows', executionId: 'x', rows: [] }
		];
		for (const message of messages) expect(decodeMessage(encodeMessage('n', message))).toEqual({ origin: 'n', message });
	});

	test('rows of executions no one here follows are dropped unread; everything else is read', () => {
		const message: BusMessage = { type: 'rows', executionId: 'x', rows: rows(3, 6) };
		const bytes = Buffer.from(encodeMessage('node1', message));
		expect(decodeBytes(bytes)).toEqual({ origin: 'node1', message });
		expect(decodeBytes(bytes, (id) => id === 'x')).toEqual({ origin: 'node1', message });
		const asked: string[] = [];
		const unfollowed = (id: string) => (asked.push(id), false);
		expect(decodeBytes(bytes, unfollowed)).toBeUndefined();
		// Only rows are filtered: everything else reaches the node whoever follows what.
		const deleted: BusMessage = { type: 'deleted', executionId: 'x' };
		expect(decodeBytes(Buffer.from(encodeMessage('n', deleted)), unfollowed)).toEqual({ origin: 'n', message: deleted });
		expect(asked).toEqual(['x']);
		// A broken row count is still refused when the rows are read.
		const cut = bytes.subarray(0, bytes.lastIndexOf(10));
		expect(() => decodeBytes(cut)).toThrow(/3 rows for 4 seqs/);
	});

	test('a row count that does not match its seqs is refused, not half-delivered', () => {
		const payload = encodeMessage('n', { type: 'rows', executionId: 'x', rows: rows(1, 2) });
		expect(() => decodeMessage(payload.slice(0, payload.lastIndexOf('\n')))).toThrow(/1 rows for 2 seqs/);
	});

	test('a batch over BUS_MAX_INLINE_BYTES is announced by its last seq only', () => {
		const big = [{ seq: 1, json: 'x'.repeat(BUS_MAX_INLINE_BYTES) }, { seq: 2, json: '{}' }];
		expect(forWire({ type: 'rows', executionId: 'x', rows: big }, BUS_MAX_INLINE_BYTES)).toEqual({ type: 'stored', executionId: 'x', lastSeq: 2 });
		const small: BusMessage = { type: 'rows', executionId: 'x', rows: rows(1, 3) };
		expect(forWire(small, BUS_MAX_INLINE_BYTES)).toBe(small);
	});

	test('the Redis address is logged without its password', () => {
		expect(describeRedisUrl('redis://user:secret@cache.internal:6380/2')).toBe('redis://cache.internal:6380/2');
	});
});

describe('LocalBus', () => {
	test('news reaches this node in the same turn, and a failing listener does not stop the others', async () => {
		const bus = new LocalBus();
		const seen: string[] = [];
		bus.subscribe(() => {
			throw new Error('boom');
		});
		bus.subscribe((message) => seen.push(message.type));
		bus.publish({ type: 'deleted', executionId: 'x' });
		expect(seen).toEqual(['deleted']);
		expect(bus.shared).toBe(false);
		await bus.ping();
		await bus.close();
		bus.publish({ type: 'deleted', executionId: 'x' });
		expect(seen).toEqual(['deleted']);
		await expect(bus.ping()).rejects.toThrow(/closed/);
	});

	test('News delivers to the hub and access the same way it will from another node', () => {
		const bus = new LocalBus();
		const calls: unknown[][] = [];
		const record = (name: string) => (...args: unknown[]) => void calls.push([name, ...args]);
		deliverNews(bus, {
			hub: { publishRows: record('rows'), publishExecution: record('execution'), publishDeleted: record('deleted'), storedUpTo: record('storedUpTo') },
			access: { sessionEnded: record('sessionEnded'), shareRevoked: record('shareRevoked') }
		});
		const news = new News(bus);
		const execution = { id: 'x' } as Execution;
		news.publishRows('x', []); // nothing stored: nothing told
		news.publishRows('x', rows(1, 1));
		news.publishExecution(execution);
		news.publishDeleted('x');
		news.sessionEnded('s');
		news.shareRevoked('h');
		expect(calls).toEqual([
			['rows', 'x', rows(1, 1)],
			['execution', execution],
			['deleted', 'x'],
			['sessionEnded', 's'],
			['shareRevoked', 'h']
		]);
	});

	test('publishing never throws into ingest', () => {
		const broken = { publish: () => { throw new Error('down'); } } as unknown as Bus;
		expect(() => new News(broken).publishDeleted('x')).not.toThrow();
	});
});

const redis = redisGate('src/lib/server/bus/bus.spec.ts');
const redisTest = redis.run ? test : test.skip;

describe('RedisBus (own redis-server)', () => {
	const cleanups: (() => Promise<void>)[] = [];
	afterEach(async () => {
		for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
	});

	async function setup(nodes: number) {
		redis.require();
		const server = await TestRedis.start();
		cleanups.push(() => server.cleanup());
		const prefix = `rw-test-${randomBytes(4).toString('hex')}:`;
		const logs: string[] = [];
		const buses = Array.from({ length: nodes }, () => new RedisBus({ url: server.url, prefix, log: (line) => logs.push(line) }).start());
		cleanups.push(async () => void (await Promise.all(buses.map((bus) => bus.close()))));
		await waitFor(() => buses.every((bus) => bus.status().ok), 'buses ready');
		return { server, buses, logs };
	}

	redisTest('news reaches every node once, this one without going through Redis', async () => {
		const { buses } = await setup(3);
		const seen = buses.map(() => [] as BusMessage[]);
		buses.forEach((bus, i) => bus.subscribe((message) => seen[i]!.push(message)));
		const message: BusMessage = { type: 'rows', executionId: 'x', rows: rows(1, 50) };
		buses[0]!.publish(message);
		expect(seen[0]).toEqual([message]); // same turn
		await waitFor(() => seen[1]!.length === 1 && seen[2]!.length === 1, 'delivery to the other nodes');
		await new Promise((r) => setTimeout(r, 100));
		expect(seen).toEqual([[message], [message], [message]]);
		await buses[1]!.ping();
	});

	redisTest('a message sent to one node reaches that node only', async () => {
		const { buses } = await setup(3);
		const seen = buses.map(() => [] as BusMessage[]);
		buses.forEach((bus, i) => bus.subscribe((message) => seen[i]!.push(message)));
		buses[0]!.send(buses[2]!.nodeId, { type: 'sse-ack', requestId: 'r', found: true });
		await waitFor(() => seen[2]!.length === 1, 'directed delivery');
		await new Promise((r) => setTimeout(r, 100));
		expect(seen[0]).toEqual([]);
		expect(seen[1]).toEqual([]);
	});

	redisTest('SSE session commands are forwarded to the node holding the session, and answered', async () => {
		const { buses } = await setup(2);
		const received: unknown[] = [];
		const sessionsA = new Map();
		const relayA = new SseRelay(buses[0]!, sessionsA, 2_000);
		const relayB = new SseRelay(buses[1]!, new Map(), 300);
		cleanups.push(async () => (relayA.close(), relayB.close()));
		const id = relayA.newSessionId();
		expect(id.startsWith(`${buses[0]!.nodeId}.`)).toBe(true);
		sessionsA.set(id, { receive: (message: unknown) => received.push(message) });
		expect(await relayB.deliver(id, [{ type: 'ping' }, { type: 'subscribe', executionId: 'x' }])).toBe(true);
		expect(received).toEqual([{ type: 'ping' }, { type: 'subscribe', executionId: 'x' }]);
		expect(await relayA.deliver(id, [{ type: 'ping' }])).toBe(true); // held here
		// Ended, or held by a node that is gone: not found, so the client opens a new stream.
		sessionsA.delete(id);
		expect(await relayB.deliver(id, [{ type: 'ping' }])).toBe(false);
		expect(await relayB.deliver(`gone.${'x'.repeat(22)}`, [{ type: 'ping' }])).toBe(false);
		expect(await relayB.deliver('no-node-in-this-id', [])).toBe(false);
	});

	redisTest('Redis down: publishing drops news without throwing, readiness says so naming REDIS_URL; back: every node resyncs', async () => {
		const { server, buses, logs } = await setup(2);
		const [a, b] = buses as [RedisBus, RedisBus];
		let resyncsA = 0;
		let resyncsB = 0;
		a.onResync(() => resyncsA++);
		b.onResync(() => resyncsB++);
		const seenB: BusMessage[] = [];
		b.subscribe((message) => seenB.push(message));

		await server.stop();
		await waitFor(() => !a.status().ok && !b.status().ok, 'both see Redis down');
		expect(a.status().detail).toMatch(/^REDIS_URL: redis at redis:\/\/127\.0\.0\.1:\d+ does not answer/);
		await expect(a.ping()).rejects.toThrow(/REDIS_URL/);
		expect(() => a.publish({ type: 'deleted', executionId: 'lost' })).not.toThrow();
		// One log line per outage, not one per retry.
		await new Promise((r) => setTimeout(r, 500));
		expect(logs.filter((line) => line.includes(a.nodeId) || line.includes('does not answer')).length).toBeLessThanOrEqual(2);

		const before = { a: resyncsA, b: resyncsB };
		await server.restart();
		await waitFor(() => a.status().ok && b.status().ok, 'both reconnected', 10_000);
		// Each node's subscription came back (restored before it is ready): each checks the store.
		await waitFor(() => resyncsB > before.b && resyncsA > before.a, 'resyncs');
		expect(seenB).toEqual([]); // the lost message is not replayed: the store heals it
		await a.ping();
		expect(logs.some((line) => line.includes('answers again'))).toBe(true);
	});
});

async function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}
