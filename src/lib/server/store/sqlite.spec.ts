import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { RunwatchError } from '../errors.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { createSqliteStore } from './sqlite.js';
import type { NewExecution, PreparedEvent, Store } from './store.js';

// What only the SQLite store has: its file, pragmas and schema version. What every store does is
// in store.contract.ts (run on SQLite by store.spec.ts).

let dir: string;
let file: string;
let store: Store;

beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), 'runwatch-store-'));
	file = join(dir, 'nested', 'runwatch.sqlite');
	store = createSqliteStore({ file });
});

afterEach(async () => {
	await store.close();
	rmSync(dir, { recursive: true, force: true });
});

function execution(id: string, overrides: Partial<NewExecution> = {}): NewExecution {
	return { id, agent: { name: 'agent-a' }, metadata: {}, createdAt: '2025-01-01T00:00:00.000Z', ...overrides };
}

function events(ids: string[], type = 'output'): PreparedEvent[] {
	return ids.map((id) => ({ id, type, ts: '2025-01-01T00:00:01.000Z', data: { text: id } }));
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function withEvents(id: string, count: number, text = ''): Promise<void> {
	await store.createExecution(execution(id));
	for (let from = 1; from <= count; from += 1000) {
		const ids = range(from, Math.min(count, from + 999)).map((n) => `${id}-${n}`);
		await store.appendEvents(id, ids.map((eventId) => ({ id: eventId, type: 'output', ts: '2025-01-01T00:00:01.000Z', data: { text: text || eventId } })));
	}
}

describe('space', () => {
	test('incremental vacuum: deleting many events and reclaiming space shrinks the file', async () => {
		const pragma = (name: string): number => {
			const db = new Database(file, { readonly: true });
			try {
				return db.pragma(name, { simple: true }) as number;
			} finally {
				db.close();
			}
		};
		expect(pragma('auto_vacuum')).toBe(2); // INCREMENTAL
		await withEvents('big', 20_000, 'x'.repeat(1000));
		await withEvents('small', 10);
		const full = pragma('page_count');
		expect(full).toBeGreaterThan(5000); // 20 MB at 4 KiB a page
		while ((await store.deleteEventsChunk('big', 2000)) > 0);
		await store.deleteExecution('big');
		// Deleting alone only frees pages inside the file.
		expect(pragma('page_count')).toBe(full);
		expect(pragma('freelist_count')).toBeGreaterThan(full / 2);
		let steps = 0;
		let left: number;
		do {
			left = await store.reclaimSpace(500);
			steps++;
		} while (left > 0 && steps < 1000);
		expect(left).toBe(0);
		expect(steps).toBeGreaterThan(1); // in small steps, not all at once
		expect(pragma('freelist_count')).toBe(0);
		expect(pragma('page_count')).toBeLessThan(full / 4);
		expect(await store.reclaimSpace(500)).toBe(0);
		// The file itself shrinks once the WAL is checkpointed (at close at the latest).
		await store.close();
		expect(statSync(file).size).toBeLessThan((full * 4096) / 4);
		store = createSqliteStore({ file });
		expect((await store.readEvents('small', 0, 100)).length).toBe(10);
	}, 60_000); // 20 MB written and given back: seconds on a busy machine

	test('a database made without incremental vacuum is converted once at startup, data kept', async () => {
		await withEvents('r1', 5);
		await store.close();
		const raw = new Database(file);
		raw.pragma('auto_vacuum = NONE');
		raw.exec('VACUUM');
		expect(raw.pragma('auto_vacuum', { simple: true })).toBe(0);
		raw.close();
		store = createSqliteStore({ file });
		const check = new Database(file, { readonly: true });
		expect(check.pragma('auto_vacuum', { simple: true })).toBe(2);
		check.close();
		expect((await store.readEvents('r1', 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
	});
});

describe('migrations and durability', () => {
	test('sets user_version to the number of migrations, WAL on', async () => {
		await store.close();
		const db = new Database(file, { readonly: true });
		expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
		expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
		db.close();
	});

	// Migration 7 rebuilt `events` as a rowid table: a database from before keeps every event,
	// its order, its seq and its ids (a retried event is still a duplicate), and appends go on.
	test('a database written before events had a rowid keeps its events, seqs and ids', async () => {
		await store.close();
		rmSync(file);
		const old = new Database(file);
		for (const [v, sql] of SQLITE_MIGRATIONS.slice(0, 6).entries()) {
			old.exec(sql);
			old.pragma(`user_version = ${v + 1}`);
		}
		expect(old.prepare("SELECT sql FROM sqlite_schema WHERE name = 'events'").pluck().get()).toMatch(/WITHOUT ROWID/);
		old.prepare(`INSERT INTO executions (id, agent_name, agent, metadata, created_at, updated_at, status, last_seq) VALUES ('old', 'a', '{"name":"a"}', '{}', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z', 'running', 3)`).run();
		const insert = old.prepare('INSERT INTO events (execution_id, seq, id, type, json) VALUES (?, ?, ?, ?, ?)');
		for (const seq of [3, 1, 2]) {
			insert.run('old', seq, `e${seq}`, 'output', JSON.stringify({ id: `e${seq}`, type: 'output', ts: '2025-01-01T00:00:01.000Z', seq, data: { text: `e${seq}` } }));
		}
		old.close();

		store = createSqliteStore({ file });
		expect((await store.readEvents('old', 0, 10)).map((e) => [e.seq, e.id])).toEqual([[1, 'e1'], [2, 'e2'], [3, 'e3']]);
		const again = await store.appendEvents('old', events(['e2', 'e4']));
		expect(again.results).toEqual([
			{ id: 'e2', seq: 2, duplicate: true },
			{ id: 'e4', seq: 4, duplicate: false }
		]);
		await store.close();
		const db = new Database(file, { readonly: true });
		expect(db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'events'").pluck().get()).not.toMatch(/WITHOUT ROWID/);
		expect(db.prepare('SELECT name FROM sqlite_schema WHERE tbl_name = ? AND type = ? ORDER BY name').pluck().all('events', 'index')).toEqual(['events_by_id', 'events_by_seq']);
		expect(db.pragma('foreign_key_check')).toEqual([]);
		db.close();
		store = createSqliteStore({ file: ':memory:' });
	});

	test('refuses a database from a newer schema', async () => {
		await store.close();
		const db = new Database(file);
		db.pragma(`user_version = ${SQLITE_MIGRATIONS.length + 1}`);
		db.close();
		expect(() => createSqliteStore({ file })).toThrow(/newer Runwatch/);
		store = createSqliteStore({ file: ':memory:' });
	});
});

describe('WAL checkpoints (in a worker thread)', () => {
	const waitFor = async (what: string, ok: () => boolean) => {
		for (const started = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 20))) {
			if (Date.now() - started > 20_000) throw new Error(`timed out waiting for ${what}`);
		}
	};

	test('what commits write to the WAL reaches the database file without a checkpoint on the main thread', async () => {
		await store.close();
		store = createSqliteStore({ file, checkpoints: { intervalMs: 20 } });
		const before = statSync(file).size;
		// About 2 MB: under the 1,000 pages (4 MB) at which SQLite's own checkpoint would run in
		// the commit, so only the worker can have copied it.
		await withEvents('c1', 2_000, 'y'.repeat(1000));
		await waitFor('the database file to grow', () => statSync(file).size > before + 1_500_000);
		expect((await store.readEvents('c1', 1_990, 100)).map((e) => e.seq)).toEqual(range(1_991, 2_000));
	}, 60_000);

	test('close() stops the worker before the main connection: the WAL file is gone and the data reopens whole', async () => {
		await withEvents('c2', 500, 'w'.repeat(200));
		await store.close();
		// The last connection to close removes the WAL: the worker's was closed first.
		expect(existsSync(`${file}-wal`)).toBe(false);
		store = createSqliteStore({ file });
		expect((await store.readEvents('c2', 0, 1000)).length).toBe(500);
	});
});

// Only the SQLite store has it (OTLP: every trace of one request in one transaction); other
// stores fall back to one trace at a time (ingest/create-and-append.spec.ts).
describe('createAndAppendMany', () => {
	test('creates what is new and appends to each, in one call; a repeat stores nothing twice', async () => {
		await store.createExecution(execution('old', { agent: { name: 'kept' } }));
		const items = [
			{ execution: execution('t1'), events: events(['a', 'b']) },
			{ execution: execution('old', { agent: { name: 'ignored' } }), events: events(['a']) },
			{ execution: execution('t2'), events: events(['x']) }
		];
		const first = await store.createAndAppendMany!(items);
		expect(first.map((r) => r.created?.id)).toEqual(['t1', undefined, 't2']);
		expect(first.map((r) => r.results.map((x) => x.seq))).toEqual([[1, 2], [1], [1]]);
		expect(first[1]!.execution).toMatchObject({ id: 'old', agent: { name: 'kept' }, lastSeq: 1 });
		const again = await store.createAndAppendMany!(items);
		expect(again.map((r) => r.created)).toEqual([undefined, undefined, undefined]);
		expect(again.flatMap((r) => r.results.map((x) => x.duplicate))).toEqual([true, true, true, true]);
		expect((await store.readEvents('t1', 0, 10)).map((e) => e.id)).toEqual(['a', 'b']);
	});

	test('one transaction: when an item fails, nothing of the call is kept', async () => {
		// A NULL id breaks a NOT NULL constraint: the store's own failure, half way through.
		const bad = { execution: execution('t4'), events: [{ id: null, type: 'output', ts: '2025-01-01T00:00:01.000Z' }] as unknown as PreparedEvent[] };
		const error = await store.createAndAppendMany!([{ execution: execution('t3'), events: events(['a']) }, bad]).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(Error);
		expect(await store.getExecution('t3')).toBeUndefined();
	});
});

// SQLite commits appends that arrive in the same event-loop turn in one transaction (one fsync
// for many requests); each caller is still answered after its own commit.
describe('group commit', () => {
	beforeEach(async () => {
		await store.createExecution(execution('r1'));
	});

	test('appends made together are committed together, in call order, each answered on its own', async () => {
		await store.createExecution(execution('r2'));
		const [a, missing, b, c] = await Promise.allSettled([
			store.appendEvents('r1', events(['a', 'b'])),
			store.appendEvents('nope', events(['x'])),
			store.appendEvents('r2', events(['a'])),
			store.appendEvents('r1', events(['c', 'a']))
		]);
		expect(a.status === 'fulfilled' && a.value.results.map((r) => r.seq)).toEqual([1, 2]);
		// An unknown execution fails alone: the others in its group are stored.
		expect(missing.status === 'rejected' && (missing.reason as RunwatchError).code).toBe('not_found');
		expect(b.status === 'fulfilled' && b.value.execution.lastSeq).toBe(1);
		expect(c.status === 'fulfilled' && c.value.results).toEqual([
			{ id: 'c', seq: 3, duplicate: false },
			{ id: 'a', seq: 1, duplicate: true }
		]);
		expect((await store.readEvents('r1', 0, 100)).map((e) => e.id)).toEqual(['a', 'b', 'c']);
		expect((await store.getExecution('r1'))!.lastSeq).toBe(3);
	});

	test('appends still waiting for their commit are committed by close()', async () => {
		const pending = store.appendEvents('r1', events(['a']));
		await store.close();
		expect((await pending).execution.lastSeq).toBe(1);
		store = createSqliteStore({ file });
		expect((await store.readEvents('r1', 0, 10)).map((e) => e.id)).toEqual(['a']);
	});
});
