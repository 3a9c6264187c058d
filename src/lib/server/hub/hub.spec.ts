import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { StoredEvent } from '../../protocol/events.js';
import { createSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { EventBatch } from './batch.js';
import { contiguousRuns, deletedNotice, Hub } from './hub.js';
import type { Sink } from './sink.js';

/** A viewer as the hub sees it; records what it was sent. */
class FakeSink implements Sink {
	batches: EventBatch[] = [];
	bufferedAmount = 0;
	closed = false;
	deliver(batch: EventBatch): void {
		if (this.closed) throw new Error('deliver after close');
		this.batches.push(batch);
	}
	get seqs(): number[] {
		return this.batches.flatMap((b) => b.events.map((e) => e.seq));
	}
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const tick = () => new Promise((resolve) => setImmediate(resolve));

async function waitFor(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 2));
	}
}

let store: Store;
let hub: Hub;
let counter = 0;

beforeEach(async () => {
	store = createSqliteStore({ file: ':memory:' });
	await store.createExecution({ id: 'r1', agent: { name: 'a' }, metadata: {}, createdAt: new Date().toISOString() });
	hub = new Hub({ store, replayPageEvents: 10, maxBufferedBytes: 1000, drainPollMs: 1 });
});

afterEach(async () => {
	hub.close();
	await store.close();
});

/** Commits `n` events and returns them, without publishing. */
async function append(n: number, executionId = 'r1'): Promise<StoredEvent[]> {
	const events = range(1, n).map(() => ({ id: `e${++counter}`, type: 'output', ts: new Date().toISOString(), data: { text: 'x' } }));
	return (await store.appendEvents(executionId, events)).stored;
}

/** Commits and publishes, like the ingest route. */
async function ingest(n: number, executionId = 'r1'): Promise<StoredEvent[]> {
	const stored = await append(n, executionId);
	hub.publish(executionId, stored);
	return stored;
}

describe('Hub', () => {
	test('replays from since, then goes live with no gap and no duplicate', async () => {
		await ingest(25);
		const sink = new FakeSink();
		hub.subscribe(sink, 'r1', 0);
		await waitFor(() => sink.seqs.length === 25, 'replay');
		// Replay is read page by page.
		expect(sink.batches.map((b) => b.size)).toEqual([10, 10, 5]);
		await ingest(3);
		await ingest(2);
		await waitFor(() => sink.seqs.length === 30, 'live');
		expect(sink.seqs).toEqual(range(1, 30));
	});

	test('since in the middle sends only later events', async () => {
		await ingest(12);
		const sink = new FakeSink();
		hub.subscribe(sink, 'r1', 7);
		await waitFor(() => sink.seqs.length === 5, 'replay');
		await tick();
		expect(sink.seqs).toEqual(range(8, 12));
	});

	test.each(['before', 'after'] as const)(
		'events committed and published during the replay are neither lost nor repeated (read held %s the query)',
		async (hold) => {
			await ingest(30);
			// A store whose reads wait for the test to let them go: either before querying (the read
			// sees the new events) or after (the rows it returns are already stale).
			const gates: (() => void)[] = [];
			const gate = () => new Promise<void>((resolve) => gates.push(resolve));
			const slowStore: Store = {
				...store,
				readEventsJson: async (id, since, limit) => {
					if (hold === 'before') await gate();
					const rows = await store.readEventsJson(id, since, limit);
					if (hold === 'after') await gate();
					return rows;
				}
			};
			const slowHub = new Hub({ store: slowStore, replayPageEvents: 10 });
			const sink = new FakeSink();
			slowHub.subscribe(sink, 'r1', 0);
			let total = 30;
			let rounds = 0;
			try {
				for (;;) {
					await waitFor(() => gates.length > 0 || sink.seqs.length >= total, 'a replay read or the end');
					if (gates.length === 0) break;
					if (rounds < 8) {
						slowHub.publish('r1', await append(3)); // while a read is pending
						total += 3;
						rounds++;
					}
					gates.shift()!();
				}
				await slowHub.publish('r1', await append(5));
				total += 5;
				await waitFor(() => sink.seqs.length >= total, 'live after catch-up');
				await tick();
			} finally {
				slowHub.close();
			}
			expect(rounds).toBeGreaterThanOrEqual(5);
			expect(sink.seqs).toEqual(range(1, total));
		}
	);

	test('out-of-order publishes: a gap is filled from the store, in order', async () => {
		const sink = new FakeSink();
		hub.subscribe(sink, 'r1', 0);
		await waitFor(() => hub.stats().subscriptions === 1, 'subscription');
		await tick();
		const first = await append(5);
		const second = await append(5);
		hub.publish('r1', second); // 6..10 arrives before 1..5
		await tick();
		await tick();
		hub.publish('r1', first);
		await waitFor(() => sink.seqs.length >= 10, 'gap filled');
		await tick();
		expect(sink.seqs).toEqual(range(1, 10));
	});

	test('out-of-order publishes within one tick are sorted into one batch', async () => {
		const sink = new FakeSink();
		hub.subscribe(sink, 'r1', 0);
		await tick();
		const first = await append(3);
		const second = await append(3);
		hub.publish('r1', second);
		hub.publish('r1', first);
		hub.publish('r1', first); // a repeat is dropped
		await waitFor(() => sink.seqs.length >= 6, 'events');
		await tick();
		expect(sink.seqs).toEqual(range(1, 6));
		expect(sink.batches).toHaveLength(1);
	});

	test('everything published in one tick goes out as one batch shared by all viewers', async () => {
		const sinks = [new FakeSink(), new FakeSink(), new FakeSink()];
		for (const sink of sinks) hub.subscribe(sink, 'r1', 0);
		await tick();
		const a = await append(2);
		const b = await append(2);
		hub.publish('r1', a);
		hub.publish('r1', b);
		await waitFor(() => sinks.every((s) => s.seqs.length === 4), 'fan-out');
		for (const sink of sinks) expect(sink.batches).toHaveLength(1);
		expect(sinks[1]!.batches[0]).toBe(sinks[0]!.batches[0]);
		expect(sinks[2]!.batches[0]!.wsFrame).toBe(sinks[0]!.batches[0]!.wsFrame);
	});

	test('frames of one execution are LIVE_FRAME_INTERVAL_MS apart: what comes sooner waits and goes together', async () => {
		const interval = 200; // wide, so that a busy machine cannot blur the two cases
		const paced = new Hub({ store, liveFrameIntervalMs: interval });
		try {
			const sink = new FakeSink();
			paced.subscribe(sink, 'r1', 0);
			await waitFor(() => paced.stats().subscriptions === 1, 'subscribe');
			await tick();
			// After a quiet spell an event goes out on the next tick.
			paced.publish('r1', await append(1));
			await tick();
			expect(sink.seqs).toEqual([1]);
			const first = performance.now();
			// Within the interval: held back, then sent as one frame.
			paced.publish('r1', await append(1));
			await tick();
			paced.publish('r1', await append(2));
			await tick();
			expect(sink.seqs).toEqual([1]);
			await waitFor(() => sink.seqs.length === 4, 'the held frame', 5000);
			expect(performance.now() - first).toBeGreaterThanOrEqual(interval - 5);
			expect(sink.batches.map((b) => b.size)).toEqual([1, 3]);
			// Quiet again for a whole interval: the next event is not held.
			await new Promise((resolve) => setTimeout(resolve, interval + 20));
			paced.publish('r1', await append(1));
			await tick();
			expect(sink.seqs).toEqual(range(1, 5));
		} finally {
			paced.close();
		}
	});

	test('a held frame is dropped with its execution: nothing is sent after the last viewer leaves', async () => {
		const paced = new Hub({ store, liveFrameIntervalMs: 100 });
		try {
			const sink = new FakeSink();
			const subscription = paced.subscribe(sink, 'r1', 0);
			await waitFor(() => subscription.mode === 'live', 'live');
			paced.publish('r1', await append(1));
			await tick();
			paced.publish('r1', await append(1));
			paced.unsubscribe(subscription);
			await new Promise((resolve) => setTimeout(resolve, 150));
			expect(sink.seqs).toEqual([1]);
		} finally {
			paced.close();
		}
	});

	test('a slow viewer stops getting live pushes, then catches up from the store once drained', async () => {
		const slow = new FakeSink();
		const fast = new FakeSink();
		hub.subscribe(slow, 'r1', 0);
		hub.subscribe(fast, 'r1', 0);
		await tick();
		await ingest(3);
		await waitFor(() => slow.seqs.length === 3 && fast.seqs.length === 3, 'first events');
		slow.bufferedAmount = 5000; // over maxBufferedBytes
		for (let i = 0; i < 5; i++) {
			await ingest(5);
			await tick();
		}
		await waitFor(() => fast.seqs.length === 28, 'fast viewer');
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(slow.seqs).toEqual(range(1, 3)); // nothing more while its buffer is full
		expect(fast.seqs).toEqual(range(1, 28)); // and the fast one is not held back
		slow.bufferedAmount = 0;
		await waitFor(() => slow.seqs.length === 28, 'catch-up after drain');
		await ingest(2);
		await waitFor(() => slow.seqs.length === 30 && fast.seqs.length === 30, 'live again');
		expect(slow.seqs).toEqual(range(1, 30));
		expect(fast.seqs).toEqual(range(1, 30));
	});

	test('a replay waits while the viewer’s buffer is full', async () => {
		await ingest(25);
		const sink = new FakeSink();
		sink.bufferedAmount = 5000;
		hub.subscribe(sink, 'r1', 0);
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(sink.seqs).toEqual([]);
		sink.bufferedAmount = 0;
		await waitFor(() => sink.seqs.length === 25, 'replay');
		expect(sink.seqs).toEqual(range(1, 25));
	});

	test('unsubscribe stops delivery and forgets the topic', async () => {
		const sink = new FakeSink();
		const subscription = hub.subscribe(sink, 'r1', 0);
		await tick();
		await ingest(2);
		await waitFor(() => sink.seqs.length === 2, 'events');
		expect(hub.stats()).toEqual({ topics: 1, subscriptions: 1 });
		hub.unsubscribe(subscription);
		expect(hub.stats()).toEqual({ topics: 0, subscriptions: 0 });
		await ingest(2);
		await tick();
		await tick();
		expect(sink.seqs).toEqual([1, 2]);
		hub.unsubscribe(subscription); // twice is harmless
	});

	test('unsubscribe during a replay stops it', async () => {
		await ingest(25);
		const sink = new FakeSink();
		const subscription = hub.subscribe(sink, 'r1', 0);
		hub.unsubscribe(subscription);
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(sink.seqs.length).toBeLessThanOrEqual(10);
	});

	test('a closed sink is dropped instead of written to', async () => {
		const sink = new FakeSink();
		const other = new FakeSink();
		hub.subscribe(sink, 'r1', 0);
		hub.subscribe(other, 'r1', 0);
		await tick();
		sink.closed = true;
		await ingest(2);
		await waitFor(() => other.seqs.length === 2, 'other viewer');
		expect(sink.batches).toEqual([]);
		expect(hub.stats().subscriptions).toBe(1);
	});

	test('viewers of other executions get nothing', async () => {
		await store.createExecution({ id: 'r2', agent: { name: 'a' }, metadata: {}, createdAt: new Date().toISOString() });
		const s1 = new FakeSink();
		const s2 = new FakeSink();
		hub.subscribe(s1, 'r1', 0);
		hub.subscribe(s2, 'r2', 0);
		await tick();
		await ingest(3, 'r1');
		await ingest(1, 'r2');
		await waitFor(() => s1.seqs.length === 3 && s2.seqs.length === 1, 'events');
		expect(s1.batches.every((b) => b.executionId === 'r1')).toBe(true);
		expect(s2.batches.every((b) => b.executionId === 'r2')).toBe(true);
	});

	test('after close nothing is delivered', async () => {
		const sink = new FakeSink();
		hub.subscribe(sink, 'r1', 0);
		await tick();
		hub.close();
		await ingest(2);
		await tick();
		await tick();
		expect(sink.batches).toEqual([]);
		expect(hub.stats()).toEqual({ topics: 0, subscriptions: 0 });
	});
});

describe('Hub.publishDeleted', () => {
	test('every subscription to it is dropped and its owner told once; pending events are not sent; others carry on', async () => {
		await store.createExecution({ id: 'r2', agent: { name: 'a' }, metadata: {}, createdAt: new Date().toISOString() });
		await ingest(3);
		const a = new FakeSink();
		const b = new FakeSink();
		const other = new FakeSink();
		const told: [string, unknown][] = [];
		hub.subscribe(a, 'r1', 0, (notice) => told.push(['a', notice]));
		hub.subscribe(b, 'r1', 0, (notice) => told.push(['b', notice]));
		hub.subscribe(other, 'r2', 0, (notice) => told.push(['other', notice]));
		await waitFor(() => a.seqs.length === 3 && b.seqs.length === 3, 'replay');
		await ingest(2); // published, not yet flushed
		hub.publishDeleted('r1');
		expect(told).toEqual([
			['a', deletedNotice('r1')],
			['b', deletedNotice('r1')]
		]);
		expect(deletedNotice('r1')).toEqual({ type: 'error', code: 'not_found', executionId: 'r1', message: 'Execution "r1" was deleted' });
		await tick();
		expect(a.seqs).toEqual([1, 2, 3]);
		expect(hub.stats()).toEqual({ topics: 1, subscriptions: 1 });
		await ingest(1, 'r2');
		await waitFor(() => other.seqs.length === 1, 'the other execution, live');
		hub.publishDeleted('r1'); // again: nobody left to tell
		expect(told).toHaveLength(2);
	});

	test('list followers get execution-deleted at once, and no summary of it queued before', async () => {
		const messages: object[] = [];
		const list = { closed: false, sendMessage: (message: object) => messages.push(message) };
		hub.subscribeExecutions(list);
		const execution = (await store.getExecution('r1'))!;
		hub.publishExecution(execution);
		hub.publishDeleted('r1');
		expect(messages).toEqual([{ type: 'execution-deleted', executionId: 'r1' }]);
		await tick();
		expect(messages).toHaveLength(1);
	});
});

describe('contiguousRuns', () => {
	const e = (seq: number): StoredEvent => ({ seq, id: `e${seq}`, type: 'x', ts: '2025-01-01T00:00:00.000Z' });
	const seqs = (runs: StoredEvent[][]) => runs.map((run) => run.map((x) => x.seq));

	test('empty → no runs', () => {
		expect(contiguousRuns([])).toEqual([]);
	});

	test('consecutive seqs form one run (same array kept in order)', () => {
		expect(seqs(contiguousRuns([e(3), e(4), e(5)]))).toEqual([[3, 4, 5]]);
	});

	test('splits at gaps', () => {
		expect(seqs(contiguousRuns([e(1), e(2), e(4), e(7), e(8)]))).toEqual([[1, 2], [4], [7, 8]]);
	});

	test('sorts and drops repeats', () => {
		expect(seqs(contiguousRuns([e(5), e(3), e(4), e(3), e(1), e(5)]))).toEqual([[1], [3, 4, 5]]);
	});

	test('does not mutate its input', () => {
		const input = [e(2), e(1)];
		contiguousRuns(input);
		expect(input.map((x) => x.seq)).toEqual([2, 1]);
	});
});

describe('EventBatch', () => {
	const e = (seq: number): StoredEvent => ({ seq, id: `e${seq}`, type: 'output', ts: '2025-01-01T00:00:00.000Z', data: { text: `t${seq}` } });

	test('live and replayed batches build the same frame', () => {
		const events = [e(1), e(2), e(3)];
		const live = EventBatch.fromEvents('r1', events);
		const replayed = EventBatch.fromJsonRows('r1', events.map((x) => ({ seq: x.seq, json: JSON.stringify(x) })));
		expect(live.wsFrame.toString()).toBe(replayed.wsFrame.toString());
		expect(JSON.parse(live.wsFrame.toString())).toEqual({ type: 'events', executionId: 'r1', events });
		expect(replayed.events).toEqual(events);
		expect([live.firstSeq, live.lastSeq, live.size]).toEqual([1, 3, 3]);
	});

	test('after() trims what a viewer already has', () => {
		const batch = EventBatch.fromEvents('r1', [e(4), e(5), e(6)]);
		expect(batch.after(2)).toBe(batch);
		expect(batch.after(3)).toBe(batch);
		expect(batch.after(4).events.map((x) => x.seq)).toEqual([5, 6]);
		expect(batch.after(5).firstSeq).toBe(6);
	});
});
