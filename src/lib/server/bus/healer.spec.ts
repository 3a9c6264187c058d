import { afterEach, beforeEach, expect, test } from 'vitest';
import type { Execution } from '../../protocol/executions.js';
import { EventBatch } from '../hub/batch.js';
import { Hub } from '../hub/hub.js';
import type { Sink } from '../hub/sink.js';
import { createSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
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

test('never on a bus of one process: nothing is lost there', () => {
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
	const failing = { ...store, getExecution: async () => Promise.reject(new Error('connection refused')) } as Store;
	await new Healer({ bus: sharedBus(), hub, store: failing, log: (line) => logs.push(line) }).heal(false);
	expect(logs).toEqual([expect.stringContaining('connection refused')]);
});
