import { afterEach, beforeEach, expect, test } from 'vitest';
import type { Execution } from '../../protocol/executions.js';
import { EventBatch } from '../hub/batch.js';
import { Hub } from '../hub/hub.js';
import type { Sink } from '../hub/sink.js';
import { createSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { BUS_HEAL_BATCH_IDS } from '../../protocol/limits.js';
import { Healer } from './healer.js';

class RecordingSink implements Sink {
	batches: EventBatch[] = [];
	bufferedAmount = 0;
	closed = false;
	deliver(batch: EventBatch): void {
		this.batches.push(batch);
	}
	get seqs(): number[] {
		return this.batches.flatMap((b) => b.events.map((e) => e.seq));
	}
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

async function waitFor(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 2));
	}
}

/** The bus as the healer sees it: shared, and able to say "news may have been lost". */
function sharedBus() {
	const listeners = new Set<() => void>();
	return {
		shared: true,
		onResync(listener: () => void) {
			listeners.add(listener);
			return () => listeners.delete(listener);
		},
		resync: () => listeners.forEach((listener) => listener())
	};
}

let store: Store;
let hub: Hub;
let counter = 0;

beforeEach(async () => {
	store = createSqliteStore({ file: ':memory:' });
	await store.createExecution({ id: 'r1', agent: { name: 'a' }, metadata: {}, createdAt: new Date().toISOString() });
	hub = new Hub({ store, replayPageEvents: 10 });
});

afterEach(async () => {
	hub.close();
	await store.close();
});

/** Commits events as another node would: stored, but this node never hears of them. */
async function commitElsewhere(n: number, executionId = 'r1') {
	const events = range(1, n).map(() => ({ id: `e${++counter}`, type: 'output', ts: new Date().toISOString(), data: { text: 'x' } }));
	return store.appendEvents(executionId, events);
}

test('the last events missed, with nothing published after them: a heal pass delivers them, once, in order', async () => {
	const sink = new RecordingSink();
	const first = await commitElsewhere(3);
	hub.subscribe(sink, 'r1', 0);
	await waitFor(() => sink.seqs.length === 3, 'replay');
	hub.publishRows('r1', first.rows); // arrives late: cut by seq
	await commitElsewhere(25); // the news of these is lost
	const healer = new Healer({ bus: sharedBus(), hub, store });
	await healer.heal(false);
	await waitFor(() => sink.seqs.length >= 28, 'healed');
	await new Promise((resolve) => setTimeout(resolve, 20));
	expect(sink.seqs).toEqual(range(1, 28));
	// Live again afterwards: the next published event goes straight out.
	const next = await commitElsewhere(1);
	hub.publishRows('r1', next.rows);
	await waitFor(() => sink.seqs.length === 29, 'live after healing');
	expect(sink.seqs).toEqual(range(1, 29));
});

test('runs by itself on a shared bus: periodically, and at once when the bus says news may be lost', async () => {
	const sink = new RecordingSink();
	hub.subscribe(sink, 'r1', 0);
	const bus = sharedBus();
	const periodic = new Healer({ bus, hub, store, intervalMs: 20 });
	periodic.start();
	try {
		await commitElsewhere(4);
		await waitFor(() => sink.seqs.length === 4, 'periodic heal');
	} finally {
		periodic.stop();
	}
	const onResync = new Healer({ bus, hub, store, intervalMs: 60_000 });
	onResync.start();
	try {
		await commitElsewhere(2);
		bus.resync();
		await waitFor(() => sink.seqs.length === 6, 'heal on resync');
		expect(sink.seqs).toEqual(range(1, 6));
	} finally {
		onResync.stop();
	}
});

test(`followed executions are read BUS_HEAL_BATCH_IDS (${BUS_HEAL_BATCH_IDS}) at a time, one query each; a missing one is announced deleted`, async () => {
	const ids = ['r1', 'r2', 'r3', 'r4', 'r5'];
	for (const id of ids.slice(1, 4)) await store.createExecution({ id, agent: { name: 'a' }, metadata: {}, createdAt: new Date().toISOString() });
	const notices: { executionId?: string }[] = [];
	for (const id of ids) hub.subscribe(new RecordingSink(), id, 0, (notice) => notices.push(notice as { executionId?: string }));
	const calls: string[][] = [];
	const counting = { ...store, getExecutions: async (batch: readonly string[]) => (calls.push([...batch]), store.getExecutions(batch)) } as Store;
	await new Healer({ bus: sharedBus(), hub, store: counting, batchIds: 2 }).heal(false);
	expect(calls.map((c) => c.length)).toEqual([2, 2, 1]);
	expect(calls.flat().sort()).toEqual(ids);
	expect(notices.map((n) => n.executionId)).toEqual(['r5']);
	calls.length = 0;
	await new Healer({ bus: sharedBus(), hub, store: counting }).heal(false);
	expect(calls).toHaveLength(1); // five ids, well under the default batch
});

test('PostgreSQL without Redis: it runs periodically all the same (other nodes\' news comes only from the store), and the list gets what changed', async () => {
	const sink = new RecordingSink();
	hub.subscribe(sink, 'r1', 0);
	const listed: { type: string; execution?: Execution }[] = [];
	hub.subscribeExecutions({ closed: false, sendMessage: (message) => listed.push(message as (typeof listed)[number]) });
	let resyncAsked = false;
	const localBus = { shared: false, onResync: () => ((resyncAsked = true), () => {}) };
	// The SQLite store under the PostgreSQL kind: what the healer decides on is the kind.
	const shared = { ...store, kind: 'postgres' } as Store;
	const healer = new Healer({ bus: localBus, hub, store: shared, intervalMs: 20 });
	healer.start();
	try {
		await commitElsewhere(3);
		await waitFor(() => sink.seqs.length === 3, 'periodic heal without a shared bus');
		await waitFor(() => listed.some((m) => m.type === 'execution' && m.execution!.lastSeq === 3), 'the list told');
		await new Promise((resolve) => setTimeout(resolve, 100)); // several passes, nothing new
		expect(listed.filter((m) => m.type === 'execution' && m.execution!.lastSeq === 3)).toHaveLength(1);
		await commitElsewhere(2);
		await waitFor(() => sink.seqs.length === 5, 'the next ones');
		await waitFor(() => listed.some((m) => m.type === 'execution' && m.execution!.lastSeq === 5), 'the list told again');
		expect(sink.seqs).toEqual(range(1, 5));
	} finally {
		healer.stop();
	}
	expect(resyncAsked).toBe(true);
});

test('never on a bus of one process on SQLite: nothing is lost there', () => {
	let asked = false;
	const healer = new Healer({ bus: { shared: false, onResync: () => ((asked = true), () => {}) }, hub, store, intervalMs: 1 });
	healer.start();
	healer.stop();
	expect(asked).toBe(false);
});

test('a missed deletion, a missed cancel request and a missed list change are healed too', async () => {
	await store.createExecution({ id: 'gone', agent: { name: 'a' }, metadata: {}, createdAt: new Date().toISOString() });
	const notices: unknown[] = [];
	hub.subscribe(new RecordingSink(), 'gone', 0, (notice) => notices.push(notice));
	const watched: Execution[] = [];
	hub.watchExecution('r1', (execution) => watched.push(execution));
	const listed: { type: string; execution?: Execution }[] = [];
	hub.subscribeExecutions({ closed: false, sendMessage: (message) => listed.push(message as (typeof listed)[number]) });

	await store.deleteExecution('gone'); // on another node
	await store.appendEvents('r1', [{ id: 'c1', type: 'cancel-requested', ts: new Date().toISOString(), data: { reason: 'stop' } }]);
	await new Healer({ bus: sharedBus(), hub, store }).heal(true);
	await waitFor(() => listed.some((m) => m.type === 'execution'), 'list refresh');

	expect(notices).toEqual([expect.objectContaining({ code: 'not_found', executionId: 'gone' })]);
	expect(watched.at(-1)?.cancelRequestedAt).toBeDefined();
	expect(hub.followedExecutions()).toEqual(['r1']);
	expect(listed).toContainEqual(expect.objectContaining({ type: 'execution-deleted', executionId: 'gone' }));
	expect(listed.filter((m) => m.type === 'execution').map((m) => m.execution!.id)).toEqual(['r1']);
});

test('a store that does not answer: the pass stops, logs, and the next one tries again', async () => {
	hub.subscribe(new RecordingSink(), 'r1', 0);
	const logs: string[] = [];
	const failing = { ...store, getExecutions: async () => Promise.reject(new Error('connection refused')) } as Store;
	await new Healer({ bus: sharedBus(), hub, store: failing, log: (line) => logs.push(line) }).heal(false);
	expect(logs).toEqual([expect.stringContaining('connection refused')]);
});
