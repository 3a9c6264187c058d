import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { EventInput } from '../../protocol/events.js';
import type { Execution } from '../../protocol/executions.js';
import { MAX_EVENT_BYTES } from '../../protocol/limits.js';
import { createSqliteStore } from '../store/sqlite.js';
import type { Store, StoredRow } from '../store/store.js';
import { Ingest } from './ingest.js';

/*
 * `Ingest.createAndAppendMany` (OTLP: the traces of one request): against the real SQLite store,
 * with its one-transaction method and without it (the item-by-item fallback a store without it
 * gets); both store the same, publish the same, and refuse an item with a too-big event alone.
 */

let dir: string;
let store: Store;
beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), 'runwatch-ingest-many-'));
	store = createSqliteStore({ file: join(dir, 'runwatch.sqlite') });
});
afterEach(async () => {
	await store.close();
	rmSync(dir, { recursive: true, force: true });
});

function ingestOver(storeView: Pick<Store, 'createExecution' | 'appendEvents' | 'deleteExecution' | 'createAndAppendMany'>) {
	const published: string[] = [];
	const ingest = new Ingest({
		store: storeView,
		publisher: {
			publishRows: (id: string, rows: StoredRow[]) => published.push(`rows ${id} ${rows.map((r) => r.seq).join(',')}`),
			publishExecution: (e: Execution) => published.push(`execution ${e.id} ${e.lastSeq}`),
			publishDeleted() {}
		},
		access: { canIngest: () => true },
		admit: () => () => {}
	});
	return { ingest, published };
}

const output = (id: string, text = id): EventInput => ({ id, type: 'output', data: { text } });
const items = () => [
	{ execution: { id: 't1', agent: { name: 'a' } }, events: [output('a'), output('b')], label: (i: number) => `t1 ${i}` },
	{ execution: { id: 't2', agent: { name: 'a' } }, events: [output('big', 'x'.repeat(MAX_EVENT_BYTES))], label: (i: number) => `t2 ${i}` },
	{ execution: { id: 't3', agent: { name: 'a' } }, events: [output('c')], label: (i: number) => `t3 ${i}` }
];

for (const mode of ['one transaction', 'item by item'] as const) {
	test(`${mode}: creates and appends each item, refuses the one with a too-big event alone, publishes as create + append would`, async () => {
		const view = mode === 'one transaction' ? store : { createExecution: store.createExecution, appendEvents: store.appendEvents, deleteExecution: store.deleteExecution };
		const { ingest, published } = ingestOver(view);
		const outcomes = await ingest.createAndAppendMany(items());
		expect(outcomes.map((o) => o.error?.code)).toEqual([undefined, 'payload_too_large', undefined]);
		expect(outcomes[1]!.error!.message).toMatch(/^t2 0 is \d+ bytes/);
		expect(published).toEqual(['execution t1 0', 'rows t1 1,2', 'execution t1 2', 'execution t3 0', 'rows t3 1', 'execution t3 1']);
		expect(await store.getExecution('t2')).toBeUndefined();
		expect((await store.readEvents('t1', 0, 10)).map((e) => e.id)).toEqual(['a', 'b']);

		// Sent again (an exporter's retry): nothing new is stored or announced as new.
		published.length = 0;
		await ingest.createAndAppendMany(items());
		expect(published).toEqual(['rows t1 ', 'rows t3 ']);
	});
}
