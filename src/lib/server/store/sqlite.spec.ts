import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { listQuerySchema } from '../../protocol/api.js';
import { RunwatchError } from '../errors.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { createSqliteStore } from './sqlite.js';
import type { NewExecution, PreparedEvent, Store } from './store.js';

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

describe('createExecution / getExecution', () => {
	test('creates once; a second create returns the existing one unchanged', async () => {
		const first = await store.createExecution(
			execution('r1', { department: { name: 'research', floor: 3 }, metadata: { env: 'prod' }, agent: { name: 'a', v: '2' } })
		);
		expect(first.created).toBe(true);
		expect(first.execution).toEqual({
			id: 'r1',
			agent: { name: 'a', v: '2' },
			department: { name: 'research', floor: 3 },
			metadata: { env: 'prod' },
			createdAt: '2025-01-01T00:00:00.000Z',
			updatedAt: '2025-01-01T00:00:00.000Z',
			status: 'pending',
			lastSeq: 0,
			usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 }
		});
		const again = await store.createExecution(execution('r1', { agent: { name: 'other' } }));
		expect(again.created).toBe(false);
		expect(again.execution.agent).toEqual({ name: 'a', v: '2' });
		expect(await store.getExecution('r1')).toEqual(first.execution);
		expect(await store.getExecution('nope')).toBeUndefined();
	});
});

describe('appendEvents', () => {
	beforeEach(async () => {
		await store.createExecution(execution('r1'));
	});

	test('assigns gapless seqs 1..N across calls, in order', async () => {
		const a = await store.appendEvents('r1', events(['a', 'b', 'c']));
		expect(a.results).toEqual([
			{ id: 'a', seq: 1, duplicate: false },
			{ id: 'b', seq: 2, duplicate: false },
			{ id: 'c', seq: 3, duplicate: false }
		]);
		expect(a.stored.map((e) => e.seq)).toEqual([1, 2, 3]);
		const b = await store.appendEvents('r1', events(['d']));
		expect(b.stored.map((e) => e.seq)).toEqual([4]);
		expect(b.execution.lastSeq).toBe(4);
		expect((await store.readEvents('r1', 0, 100)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
	});

	test('seqs are per execution', async () => {
		await store.createExecution(execution('r2'));
		await store.appendEvents('r1', events(['a', 'b']));
		const r2 = await store.appendEvents('r2', events(['a']));
		expect(r2.results).toEqual([{ id: 'a', seq: 1, duplicate: false }]);
	});

	test('a retried batch stores nothing twice and answers with the earlier seqs', async () => {
		const first = await store.appendEvents('r1', events(['a', 'b', 'c']));
		const retry = await store.appendEvents('r1', events(['a', 'b', 'c']));
		expect(retry.stored).toEqual([]);
		expect(retry.results).toEqual(first.results.map((r) => ({ ...r, duplicate: true })));
		expect(retry.execution.lastSeq).toBe(3);
		expect(await store.readEvents('r1', 0, 100)).toHaveLength(3);
	});

	test('duplicates within one batch and mixed with new events', async () => {
		await store.appendEvents('r1', events(['a']));
		const mixed = await store.appendEvents('r1', events(['b', 'a', 'b', 'c']));
		expect(mixed.results).toEqual([
			{ id: 'b', seq: 2, duplicate: false },
			{ id: 'a', seq: 1, duplicate: true },
			{ id: 'b', seq: 2, duplicate: true },
			{ id: 'c', seq: 3, duplicate: false }
		]);
		expect(mixed.stored.map((e) => [e.seq, e.id])).toEqual([
			[2, 'b'],
			[3, 'c']
		]);
	});

	test('the retry keeps the first version of an event', async () => {
		await store.appendEvents('r1', [{ id: 'a', type: 'output', ts: '2025-01-01T00:00:01.000Z', data: { text: 'first' } }]);
		await store.appendEvents('r1', [{ id: 'a', type: 'output', ts: '2025-01-01T00:00:02.000Z', data: { text: 'second' } }]);
		expect(await store.readEvents('r1', 0, 10)).toEqual([
			{ seq: 1, id: 'a', type: 'output', ts: '2025-01-01T00:00:01.000Z', data: { text: 'first' } }
		]);
	});

	test('unknown execution → RunwatchError not_found, and nothing is stored', async () => {
		const error = await store.appendEvents('ghost', events(['a'])).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(RunwatchError);
		expect((error as RunwatchError).code).toBe('not_found');
		expect((error as RunwatchError).status).toBe(404);
		expect(await store.readEvents('ghost', 0, 10)).toEqual([]);
	});

	test('updates status, times and usage in the same write', async () => {
		const r = await store.appendEvents('r1', [
			{ id: 'a', type: 'agent-start', ts: '2025-01-01T00:00:01.000Z' },
			{ id: 'b', type: 'usage', ts: '2025-01-01T00:00:02.000Z', data: { inputTokens: 10, outputTokens: 2, costUsd: 0.1 } },
			{ id: 'c', type: 'step-end', stepId: 's', ts: '2025-01-01T00:00:03.000Z', data: { usage: { costUsd: 0.2 } } },
			{ id: 'd', type: 'error', ts: '2025-01-01T00:00:04.000Z', data: { message: 'boom' } }
		]);
		expect(r.execution).toMatchObject({
			status: 'failed',
			startedAt: '2025-01-01T00:00:01.000Z',
			endedAt: '2025-01-01T00:00:04.000Z',
			error: 'boom',
			lastSeq: 4,
			usage: { inputTokens: 10, outputTokens: 2, costUsd: 0.3 }
		});
		expect(await store.getExecution('r1')).toEqual(r.execution);
		// Later events move lastSeq but not the terminal status.
		const after = await store.appendEvents('r1', [{ id: 'e', type: 'agent-complete', ts: '2025-01-01T00:00:05.000Z' }]);
		expect(after.execution).toMatchObject({ status: 'failed', lastSeq: 5 });
	});

	test('stored events keep optional fields and unknown data unchanged', async () => {
		const data = { deep: { list: [1, 'two', null] }, unicode: 'héllo ✓' };
		await store.appendEvents('r1', [
			{ id: 'a', type: 'vendor.thing', ts: '2025-01-01T00:00:01.000Z', stepId: 's2', parentStepId: 's1', data },
			{ id: 'b', type: 'agent-start', ts: '2025-01-01T00:00:02.000Z' }
		]);
		const [a, b] = await store.readEvents('r1', 0, 10);
		expect(a).toEqual({ seq: 1, id: 'a', type: 'vendor.thing', ts: '2025-01-01T00:00:01.000Z', stepId: 's2', parentStepId: 's1', data });
		expect(b).toEqual({ seq: 2, id: 'b', type: 'agent-start', ts: '2025-01-01T00:00:02.000Z' });
		expect(Object.keys(b!)).not.toContain('data');
	});
});

describe('reads', () => {
	beforeEach(async () => {
		await store.createExecution(execution('r1'));
		await store.appendEvents('r1', events(range(1, 25).map((i) => `e${i}`)));
	});

	test('readEvents: seq > since, ascending, at most limit', async () => {
		expect((await store.readEvents('r1', 0, 5)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
		expect((await store.readEvents('r1', 20, 100)).map((e) => e.seq)).toEqual([21, 22, 23, 24, 25]);
		expect(await store.readEvents('r1', 25, 100)).toEqual([]);
		expect(await store.readEvents('r1', 1000, 100)).toEqual([]);
	});

	test('readEventsJson gives the same events as JSON text', async () => {
		const rows = await store.readEventsJson('r1', 10, 3);
		expect(rows.map((r) => r.seq)).toEqual([11, 12, 13]);
		expect(rows.map((r) => JSON.parse(r.json))).toEqual(await store.readEvents('r1', 10, 3));
	});

	test('readTail: the newest `limit`, ascending', async () => {
		expect((await store.readTail('r1', 3)).map((e) => e.seq)).toEqual([23, 24, 25]);
		expect((await store.readTail('r1', 100)).map((e) => e.seq)).toEqual(range(1, 25));
		expect(await store.readTail('ghost', 3)).toEqual([]);
	});
});

describe('listExecutions', () => {
	const list = (query: Record<string, string> = {}) => store.listExecutions(listQuerySchema.parse(query));

	beforeEach(async () => {
		for (let i = 1; i <= 12; i++) {
			await store.createExecution(
				execution(`run-${String(i).padStart(2, '0')}`, {
					agent: { name: i % 3 === 0 ? 'writer' : 'planner' },
					department: i === 5 ? { name: 'Research_Lab' } : undefined,
					metadata: i === 7 ? { ticket: 'JIRA-100%' } : {},
					// Two share a timestamp: the id breaks the tie, so paging is still exact.
					createdAt: `2025-01-01T00:00:${String(i === 12 ? 11 : i).padStart(2, '0')}.000Z`
				})
			);
		}
		await store.appendEvents('run-01', [{ id: 'x', type: 'agent-complete', ts: '2025-01-01T00:01:00.000Z' }]);
		await store.appendEvents('run-02', [{ id: 'x', type: 'agent-start', ts: '2025-01-01T00:01:00.000Z' }]);
	});

	test('newest first', async () => {
		const { executions, nextCursor } = await list();
		// created_at DESC, then id DESC: run-12 and run-11 share a timestamp.
		expect(executions.map((e) => e.id)).toEqual(range(1, 12).reverse().map((i) => `run-${String(i).padStart(2, '0')}`));
		expect(nextCursor).toBeNull();
	});

	test('cursor pagination walks every execution exactly once', async () => {
		const seen: string[] = [];
		let cursor: string | null = null;
		let pages = 0;
		do {
			const page = await list(cursor ? { limit: '5', cursor } : { limit: '5' });
			seen.push(...page.executions.map((e) => e.id));
			cursor = page.nextCursor;
			pages++;
		} while (cursor);
		expect(pages).toBe(3);
		expect(seen).toHaveLength(12);
		expect(new Set(seen).size).toBe(12);
		expect(seen).toEqual((await list({ limit: '50' })).executions.map((e) => e.id));
	});

	test('an exact last page has no next cursor', async () => {
		const page = await list({ limit: '12' });
		expect(page.executions).toHaveLength(12);
		expect(page.nextCursor).toBeNull();
	});

	test('filters by status, agent and free text (LIKE wildcards are literal)', async () => {
		expect((await list({ status: 'completed' })).executions.map((e) => e.id)).toEqual(['run-01']);
		expect((await list({ status: 'running' })).executions.map((e) => e.id)).toEqual(['run-02']);
		expect((await list({ status: 'pending' })).executions).toHaveLength(10);
		expect((await list({ agent: 'writer' })).executions.map((e) => e.id)).toEqual(['run-12', 'run-09', 'run-06', 'run-03']);
		expect((await list({ q: 'research' })).executions.map((e) => e.id)).toEqual(['run-05']);
		expect((await list({ q: 'JIRA-100%' })).executions.map((e) => e.id)).toEqual(['run-07']);
		expect((await list({ q: '%' })).executions.map((e) => e.id)).toEqual(['run-07']);
		expect((await list({ q: '_' })).executions.map((e) => e.id)).toEqual(['run-05']);
		expect((await list({ agent: 'writer', status: 'completed' })).executions).toEqual([]);
	});

	test('a cursor that is not ours → invalid_query', async () => {
		const error = await list({ cursor: 'garbage' }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(RunwatchError);
		expect((error as RunwatchError).code).toBe('invalid_query');
	});
});

describe('deleting', () => {
	async function withEvents(id: string, count: number, text = ''): Promise<void> {
		await store.createExecution(execution(id));
		for (let from = 1; from <= count; from += 1000) {
			const ids = range(from, Math.min(count, from + 999)).map((n) => `${id}-${n}`);
			await store.appendEvents(id, ids.map((eventId) => ({ id: eventId, type: 'output', ts: '2025-01-01T00:00:01.000Z', data: { text: text || eventId } })));
		}
	}

	test('deleteExecution takes the execution and its events; unknown is false; others stay', async () => {
		await withEvents('gone', 1500);
		await withEvents('kept', 3);
		expect(await store.deleteExecution('gone')).toBe(true);
		expect(await store.getExecution('gone')).toBeUndefined();
		expect(await store.readEvents('gone', 0, 1000)).toEqual([]);
		expect(await store.readTail('gone', 10)).toEqual([]);
		expect((await store.listExecutions(listQuerySchema.parse({}))).executions.map((e) => e.id)).toEqual(['kept']);
		await expect(store.appendEvents('gone', events(['late']))).rejects.toMatchObject({ code: 'not_found' });
		expect(await store.deleteExecution('gone')).toBe(false);
		expect(await store.deleteExecution('never')).toBe(false);
		expect((await store.readEvents('kept', 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3]);
		// The id is free again: a new execution starts from seq 1 with no trace of the old one.
		await store.createExecution(execution('gone'));
		expect((await store.appendEvents('gone', events(['gone-1']))).results).toEqual([{ id: 'gone-1', seq: 1, duplicate: false }]);
	});

	test('deleteEventsChunk deletes the newest events first, at most limit at a time, until none are left', async () => {
		await withEvents('big', 5000);
		await withEvents('other', 10);
		expect(await store.deleteEventsChunk('big', 2000)).toBe(2000);
		// What is left is the oldest events, gapless: a replay from 0 reads 1..3000 in order.
		const left = await store.readEvents('big', 0, 1000);
		expect(left.map((e) => e.seq)).toEqual(range(1, 1000));
		expect((await store.readTail('big', 1)).map((e) => e.seq)).toEqual([3000]);
		expect((await store.getExecution('big'))?.lastSeq).toBe(5000); // the summary stays until deleteExecution
		expect(await store.deleteEventsChunk('big', 2000)).toBe(2000);
		expect(await store.deleteEventsChunk('big', 2000)).toBe(1000);
		expect(await store.deleteEventsChunk('big', 2000)).toBe(0);
		expect(await store.readEvents('big', 0, 1000)).toEqual([]);
		expect((await store.readEvents('other', 0, 100)).length).toBe(10);
		expect(await store.deleteEventsChunk('nope', 10)).toBe(0);
		await expect(store.deleteEventsChunk('big', 0)).rejects.toThrow(RangeError);
		expect(await store.deleteExecution('big')).toBe(true);
	});

	test('listEndedBefore: ended before the cutoff (as instants, any zone), ended first first; never one still running', async () => {
		const ended = async (id: string, type: string, ts: string) => {
			await store.createExecution(execution(id));
			await store.appendEvents(id, [
				{ id: 's', type: 'agent-start', ts: '2024-01-01T00:00:00.000Z' },
				{ id: 'end', type, ts, data: type === 'error' ? { message: 'x' } : undefined }
			]);
		};
		await ended('old-completed', 'agent-complete', '2025-01-05T00:00:00.000Z');
		await ended('old-failed', 'error', '2025-01-02T00:00:00Z');
		await ended('old-cancelled', 'cancelled', '2025-01-20T10:00:00.000+02:00');
		// 23:00 Z on Jan 31, though as text it sorts after the cutoff.
		await ended('old-offset', 'agent-complete', '2025-02-01T01:00:00+02:00');
		await ended('recent', 'agent-complete', '2025-02-01T00:00:00.001Z');
		await store.createExecution(execution('old-running'));
		await store.appendEvents('old-running', [{ id: 's', type: 'agent-start', ts: '2020-01-01T00:00:00.000Z' }]);
		await store.createExecution(execution('old-cancelling'));
		await store.appendEvents('old-cancelling', [
			{ id: 's', type: 'agent-start', ts: '2020-01-01T00:00:00.000Z' },
			{ id: 'c', type: 'cancel-requested', ts: '2020-01-01T00:00:01.000Z' }
		]);
		await store.createExecution(execution('pending', { createdAt: '2020-01-01T00:00:00.000Z' }));

		const cutoff = '2025-02-01T00:00:00.000Z';
		expect(await store.listEndedBefore(cutoff, 100)).toEqual(['old-failed', 'old-completed', 'old-cancelled', 'old-offset']);
		expect(await store.listEndedBefore(cutoff, 2)).toEqual(['old-failed', 'old-completed']);
		expect(await store.listEndedBefore('2000-01-01T00:00:00.000Z', 100)).toEqual([]);
		expect(await store.listEndedBefore('2030-01-01T00:00:00.000Z', 100)).toHaveLength(5);
	});

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

	test('a reopened database keeps its data and continues the seqs', async () => {
		await store.createExecution(execution('r1'));
		await store.appendEvents('r1', events(['a', 'b']));
		await store.close();
		store = createSqliteStore({ file });
		expect((await store.getExecution('r1'))?.lastSeq).toBe(2);
		const retry = await store.appendEvents('r1', events(['b', 'c']));
		expect(retry.results).toEqual([
			{ id: 'b', seq: 2, duplicate: true },
			{ id: 'c', seq: 3, duplicate: false }
		]);
	});

	test('refuses a database from a newer schema', async () => {
		await store.close();
		const db = new Database(file);
		db.pragma(`user_version = ${SQLITE_MIGRATIONS.length + 1}`);
		db.close();
		expect(() => createSqliteStore({ file })).toThrow(/newer Runwatch/);
		store = createSqliteStore({ file: ':memory:' });
	});

	test('close is idempotent', async () => {
		await store.close();
		await expect(store.close()).resolves.toBeUndefined();
	});
});

describe('searchEvents', () => {
	const at = '2025-01-01T00:00:01.000Z';
	beforeEach(async () => {
		await store.createExecution(execution('s1'));
		await store.createExecution(execution('s2'));
		await store.appendEvents('s1', [
			{ id: 'e1', type: 'agent-start', ts: at, data: { input: { question: 'Why is the Invoice late?' } } },
			{ id: 'e2', type: 'step-start', ts: at, stepId: 'st1', data: { name: 'fetch_invoice', kind: 'tool', input: { args: ['INV-2044'] } } },
			{ id: 'e3', type: 'step-end', ts: at, stepId: 'st1', data: { error: { message: 'Timeout after 30 s' } } },
			{ id: 'e4', type: 'log', ts: at, data: { level: 'info', message: 'retrying with 100% budget' } },
			{ id: 'e5', type: 'output', ts: at, data: { text: 'Invoice INV-2044 was late because…', count: 4711 } }
		]);
		await store.appendEvents('s2', [{ id: 'e1', type: 'output', ts: at, data: { text: 'invoice elsewhere' } }]);
	});
	const seqs = async (query: string, options: { limit?: number; before?: number } = {}) =>
		(await store.searchEvents('s1', query, { limit: options.limit ?? 100, before: options.before })).map((e) => e.seq);

	test('every word of the query, as the start of a word of any value, any case, in one execution, ascending', async () => {
		expect(await seqs('invoice')).toEqual([1, 2, 5]);
		expect(await seqs('INV-2044')).toEqual([2, 5]);
		expect(await seqs('inv 204')).toEqual([2, 5]);
		expect(await seqs('timeout after')).toEqual([3]);
		expect(await seqs('after timeout')).toEqual([3]); // every word, in any order
		expect(await seqs('4711')).toEqual([5]);
		expect(await seqs('step-end')).toEqual([3]); // the type is text too
		expect(await seqs('nowhere')).toEqual([]);
		expect(await seqs('voice')).toEqual([]); // words start where words start
		expect((await store.searchEvents('s1', 'invoice', { limit: 10 }))[0]).toEqual((await store.readEvents('s1', 0, 1))[0]);
	});

	test('keys are not text; quotes and operators are only separators', async () => {
		expect(await seqs('question')).toEqual([]);
		expect(await seqs('"late')).toEqual([1, 5]);
		expect(await seqs('late OR nothing')).toEqual([]);
		expect(await seqs('late NEAR(invoice)')).toEqual([]);
		expect(await seqs('100% b*')).toEqual([4]);
		expect(await seqs('%* "')).toEqual([]); // no word: nothing
	});

	test('events stored after a search are found by the next one', async () => {
		expect(await seqs('later')).toEqual([]);
		await store.appendEvents('s1', [{ id: 'e6', type: 'output', ts: at, data: { text: 'later on' } }]);
		expect(await seqs('later')).toEqual([6]);
	});

	test('the newest `limit` matches, and `before` pages back', async () => {
		expect(await seqs('invoice', { limit: 2 })).toEqual([2, 5]);
		expect(await seqs('invoice', { limit: 2, before: 2 })).toEqual([1]);
		expect(await seqs('i', { limit: 1, before: 5 })).toEqual([4]);
	});

	test('deleted events leave the index, and an id created again starts afresh', async () => {
		expect(await seqs('invoice')).toEqual([1, 2, 5]);
		await store.deleteEventsChunk('s1', 1);
		expect(await seqs('invoice')).toEqual([1, 2]);
		expect(await store.searchEvents('s2', 'invoice', { limit: 10 })).toHaveLength(1);
		await store.deleteExecution('s2');
		expect(await store.searchEvents('s2', 'invoice', { limit: 10 })).toEqual([]);
		await store.createExecution(execution('s2'));
		await store.appendEvents('s2', [{ id: 'n1', type: 'output', ts: at, data: { text: 'fresh invoice' } }]);
		expect((await store.searchEvents('s2', 'invoice', { limit: 10 })).map((e) => e.id)).toEqual(['n1']);
	});

	test('a first search indexes a large execution in chunks and finds its oldest and newest', async () => {
		await store.createExecution(execution('big'));
		for (let batch = 0; batch < 3; batch++) {
			await store.appendEvents(
				'big',
				Array.from({ length: 1000 }, (_, i) => ({ id: `b${batch}-${i}`, type: 'output', ts: at, data: { text: `line ${batch * 1000 + i + 1}` } }))
			);
		}
		expect((await store.searchEvents('big', 'line', { limit: 1 })).map((e) => e.seq)).toEqual([3000]);
		expect((await store.searchEvents('big', 'line 1', { limit: 1, before: 2 })).map((e) => e.seq)).toEqual([1]);
		expect((await store.searchEvents('big', '2999', { limit: 5 })).map((e) => e.seq)).toEqual([2999]);
		expect(await store.searchEvents('big', 'line', { limit: 5000 })).toHaveLength(3000);
	});
});

describe('agent names, totals and open executions', () => {
	beforeEach(async () => {
		await store.createExecution(execution('old', { agent: { name: 'archivist' }, createdAt: '2025-01-01T10:00:00.000Z' }));
		await store.createExecution(execution('t1', { agent: { name: 'researcher' }, createdAt: '2025-01-02T01:00:00.000Z' }));
		await store.createExecution(execution('t2', { agent: { name: 'researcher' }, createdAt: '2025-01-02T02:00:00.000Z' }));
		await store.createExecution(execution('t3', { agent: { name: 'biller' }, createdAt: '2025-01-02T03:00:00.000Z' }));
		const ts = '2025-01-02T04:00:00.000Z';
		await store.appendEvents('t1', [
			{ id: 'a', type: 'usage', ts, data: { inputTokens: 100, outputTokens: 20, costUsd: 0.5 } },
			{ id: 'b', type: 'error', ts, data: { message: 'Rate limited by upstream' } }
		]);
		await store.appendEvents('t2', [{ id: 'a', type: 'usage', ts, data: { inputTokens: 5, outputTokens: 1, costUsd: 0.25 } }]);
		await store.appendEvents('old', [{ id: 'a', type: 'usage', ts, data: { inputTokens: 9, costUsd: 9 } }]);
	});

	test('listAgentNames: every name once, sorted, at most `limit`', async () => {
		expect(await store.listAgentNames(10)).toEqual(['archivist', 'biller', 'researcher']);
		expect(await store.listAgentNames(2)).toEqual(['archivist', 'biller']);
	});

	test('usageSince: per agent, executions created since the moment', async () => {
		expect(await store.usageSince('2025-01-02T00:00:00.000Z')).toEqual([
			{ agent: 'biller', runs: 1, failed: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 },
			{ agent: 'researcher', runs: 2, failed: 1, inputTokens: 105, outputTokens: 21, costUsd: 0.75 }
		]);
		expect(await store.usageSince('2025-01-03T00:00:00.000Z')).toEqual([]);
	});

	test('listOpenSince: not ended, created since the moment, newest first', async () => {
		expect((await store.listOpenSince('2025-01-02T00:00:00.000Z', 10)).map((e) => e.id)).toEqual(['t3', 't2']);
	});

	test('the list search covers error messages', async () => {
		const { executions } = await store.listExecutions(listQuerySchema.parse({ q: 'rate LIMITED' }));
		expect(executions.map((e) => e.id)).toEqual(['t1']);
	});
});
