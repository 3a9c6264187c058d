import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { listQuerySchema } from '../../protocol/api.js';
import { RunwatchError } from '../errors.js';
import type { NewExecution, PreparedEvent, Store } from './store.js';

/**
 * What every Store must do, whatever its database: one suite, run against SQLite
 * (store.spec.ts) and PostgreSQL (tests/integration/store-postgres.test.ts).
 */
export interface StoreHarness {
	/** A fresh, empty store for one test. */
	open(): Promise<Store>;
	/** One more store on the database the last `open` made: another node, or the same one restarted. */
	openAgain(): Promise<Store>;
	/** After each test: close every store opened, drop the data. */
	reset(): Promise<void>;
}

function execution(id: string, overrides: Partial<NewExecution> = {}): NewExecution {
	return { id, agent: { name: 'agent-a' }, metadata: {}, createdAt: '2025-01-01T00:00:00.000Z', ...overrides };
}

function events(ids: string[], type = 'output'): PreparedEvent[] {
	return ids.map((id) => ({ id, type, ts: '2025-01-01T00:00:01.000Z', data: { text: id } }));
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

export function storeContract(harness: StoreHarness): void {
	let store: Store;

	beforeEach(async () => {
		store = await harness.open();
	});

	afterEach(async () => {
		await harness.reset();
	});

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

		test('getExecutions: the ones that exist among many ids, each as getExecution gives it, in one call', async () => {
			for (const id of ['g1', 'g2', 'g3']) await store.createExecution(execution(id));
			await store.appendEvents('g2', events(['x', 'y']));
			expect(await store.getExecutions([])).toEqual([]);
			const found = await store.getExecutions(['g3', 'missing', 'g2', 'G1', "g1' OR 1=1 --"]);
			expect(found.map((e) => e.id).sort()).toEqual(['g2', 'g3']);
			expect(found.find((e) => e.id === 'g2')).toEqual(await store.getExecution('g2'));
			expect(found.find((e) => e.id === 'g2')!.lastSeq).toBe(2);
			// Many ids at once (more than SQLite's default bound-parameter cap).
			const many = [...range(1, 40_000).map((i) => `none-${i}`), 'g1'];
			expect((await store.getExecutions(many)).map((e) => e.id)).toEqual(['g1']);
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

	describe('appends to one execution at once, from one store', () => {
		test('each caller gets its own results and only the events it stored; seq stays gapless', async () => {
			await store.createExecution(execution('together'));
			const calls = Array.from({ length: 20 }, (_, i) => store.appendEvents('together', events([`c${i}-a`, `c${i}-b`, 'shared'])));
			const answers = await Promise.all(calls);
			const stored = answers.flatMap((a) => a.stored.map((e) => e.seq)).sort((x, y) => x - y);
			expect(stored).toEqual(range(1, 41)); // 20 × 2 own events + 'shared' once
			for (const [i, answer] of answers.entries()) {
				expect(answer.results.map((r) => r.id)).toEqual([`c${i}-a`, `c${i}-b`, 'shared']);
				expect(answer.stored.map((e) => e.id)).toEqual(answer.results.filter((r) => !r.duplicate).map((r) => r.id));
				expect(answer.rows.map((r) => r.seq)).toEqual(answer.stored.map((e) => e.seq));
			}
			expect(answers.flatMap((a) => a.results).filter((r) => r.id === 'shared' && !r.duplicate)).toHaveLength(1);
			expect((await store.getExecution('together'))!.lastSeq).toBe(41);
			expect((await store.readEvents('together', 0, 100)).map((e) => e.seq)).toEqual(range(1, 41));
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

	});

	describe('durability', () => {
		test('a reopened database keeps its data and continues the seqs', async () => {
			await store.createExecution(execution('r1'));
			await store.appendEvents('r1', events(['a', 'b']));
			await store.close();
			store = await harness.openAgain();
			expect((await store.getExecution('r1'))?.lastSeq).toBe(2);
			const retry = await store.appendEvents('r1', events(['b', 'c']));
			expect(retry.results).toEqual([
				{ id: 'b', seq: 2, duplicate: true },
				{ id: 'c', seq: 3, duplicate: false }
			]);
		});

		test('close is idempotent', async () => {
			await store.close();
			await expect(store.close()).resolves.toBeUndefined();
		});
	});

	describe('concurrency (two stores on one database: two nodes)', () => {
		test('concurrent appends to one execution from two stores: seq gapless and unique, each batch contiguous', async () => {
			const other = await harness.openAgain();
			await store.createExecution(execution('r1'));
			const batches = range(1, 40).map((b) => events(range(1, 5).map((i) => `b${b}-e${i}`)));
			const answers = await Promise.all(batches.map((batch, b) => (b % 2 ? other : store).appendEvents('r1', batch)));
			const seqs = answers.flatMap((a) => a.results.map((r) => r.seq)).sort((x, y) => x - y);
			expect(seqs).toEqual(range(1, 200));
			for (const answer of answers) {
				const mine = answer.results.map((r) => r.seq);
				expect(mine).toEqual(range(mine[0]!, mine[0]! + 4)); // one transaction, one run of seqs
				expect(answer.results.every((r) => !r.duplicate)).toBe(true);
			}
			const stored = await store.readEvents('r1', 0, 1000);
			expect(stored.map((e) => e.seq)).toEqual(range(1, 200));
			expect(new Set(stored.map((e) => e.id)).size).toBe(200);
			expect((await other.getExecution('r1'))?.lastSeq).toBe(200);
		});

		test('one batch sent to both stores at once is stored once; both answer with the same seqs', async () => {
			const other = await harness.openAgain();
			await store.createExecution(execution('r1'));
			await store.appendEvents('r1', events(['before']));
			const batch = events(['a', 'b', 'c']);
			const [x, y] = await Promise.all([store.appendEvents('r1', batch), other.appendEvents('r1', batch)]);
			expect(x.results.map((r) => r.seq)).toEqual([2, 3, 4]);
			expect(y.results.map((r) => r.seq)).toEqual([2, 3, 4]);
			// Exactly one of them stored the batch; the other saw it as a retry.
			expect([x.stored.length, y.stored.length].sort()).toEqual([0, 3]);
			expect([x.results[0]!.duplicate, y.results[0]!.duplicate].sort()).toEqual([false, true]);
			expect((await store.readEvents('r1', 0, 100)).map((e) => e.id)).toEqual(['before', 'a', 'b', 'c']);
		});

		test('concurrent creates of one execution: one is created, every caller gets it', async () => {
			const other = await harness.openAgain();
			const answers = await Promise.all(range(1, 10).map((i) => (i % 2 ? other : store).createExecution(execution('same'))));
			expect(answers.filter((a) => a.created)).toHaveLength(1);
			expect(new Set(answers.map((a) => JSON.stringify(a.execution))).size).toBe(1);
		});
	});

	describe('stored JSON text', () => {
		test('is the same text on every store: seq first, then the event as given or serialised', async () => {
			await store.createExecution(execution('r1'));
			const given: PreparedEvent = { id: 'a', type: 'output', ts: '2025-01-01T00:00:01.000Z', data: { text: 'x', n: 1.5 } };
			const json = JSON.stringify(given);
			const answer = await store.appendEvents('r1', [
				{ ...given, json },
				{ id: 'b', type: 'agent-start', ts: '2025-01-01T00:00:02.000Z', stepId: 's', data: { é: '✓', nested: [null, true] } }
			]);
			const expected = [
				'{"seq":1,"id":"a","type":"output","ts":"2025-01-01T00:00:01.000Z","data":{"text":"x","n":1.5}}',
				'{"seq":2,"id":"b","type":"agent-start","ts":"2025-01-01T00:00:02.000Z","stepId":"s","data":{"é":"✓","nested":[null,true]}}'
			];
			expect(answer.rows).toEqual([
				{ seq: 1, json: expected[0] },
				{ seq: 2, json: expected[1] }
			]);
			expect(await store.readEventsJson('r1', 0, 10)).toEqual([
				{ seq: 1, json: expected[0] },
				{ seq: 2, json: expected[1] }
			]);
		});
	});

	describe('readBefore', () => {
		test('the newest `limit` with seq < before, ascending', async () => {
			await store.createExecution(execution('r1'));
			await store.appendEvents('r1', events(range(1, 10).map((i) => `e${i}`)));
			expect((await store.readBefore('r1', 8, 3)).map((e) => e.seq)).toEqual([5, 6, 7]);
			expect((await store.readBefore('r1', 3, 10)).map((e) => e.seq)).toEqual([1, 2]);
			expect(await store.readBefore('r1', 1, 10)).toEqual([]);
			expect((await store.readBefore('r1', 1000, 2)).map((e) => e.seq)).toEqual([9, 10]);
		});
	});

	describe('list search case rules', () => {
		test('ASCII letters fold, other letters match only as written; fields: id, agent, department, metadata', async () => {
			await store.createExecution(execution('Alpha-1', { agent: { name: 'Planner' } }));
			await store.createExecution(execution('beta-2', { department: { name: 'Équipe' }, createdAt: '2025-01-01T00:00:01.000Z' }));
			await store.createExecution(execution('gamma-3', { metadata: { owner: 'ZOË' }, createdAt: '2025-01-01T00:00:02.000Z' }));
			const ids = async (q: string) => (await store.listExecutions(listQuerySchema.parse({ q }))).executions.map((e) => e.id);
			expect(await ids('alpha')).toEqual(['Alpha-1']);
			expect(await ids('PLANNER')).toEqual(['Alpha-1']);
			expect(await ids('Équipe')).toEqual(['beta-2']);
			expect(await ids('ÉQUIPE')).toEqual(['beta-2']); // É as written, QUIPE folded
			expect(await ids('équipe')).toEqual([]); // é is not folded to É
			expect(await ids('zoë')).toEqual([]);
			expect(await ids('zoË')).toEqual(['gamma-3']);
			expect(await ids('owner')).toEqual(['gamma-3']); // metadata is searched as its JSON text
			expect(await ids('-')).toEqual(['gamma-3', 'beta-2', 'Alpha-1']);
			expect(await ids('\\')).toEqual([]);
		});

		test('the department filter is exact', async () => {
			await store.createExecution(execution('r1', { department: { name: 'Research' } }));
			await store.createExecution(execution('r2', { department: { name: 'research' } }));
			const list = await store.listExecutions(listQuerySchema.parse({ department: 'Research' }));
			expect(list.executions.map((e) => e.id)).toEqual(['r1']);
		});
	});

	describe('shares', () => {
		test('create, find by token hash, get, list newest first, revoke once', async () => {
			await store.createExecution(execution('r1'));
			await store.createExecution(execution('r2'));
			await store.createShare({ id: 's1', executionId: 'r1', tokenHash: 'h1', createdAt: '2025-01-01T00:00:01.000Z' });
			await store.createShare({ id: 's2', executionId: 'r1', tokenHash: 'h2', createdAt: '2025-01-01T00:00:02.000Z', expiresAt: '2025-02-01T00:00:00.000Z' });
			await store.createShare({ id: 's3', executionId: 'r2', tokenHash: 'h3', createdAt: '2025-01-01T00:00:03.000Z' });
			expect(await store.findShareByTokenHash('h2')).toEqual({
				id: 's2',
				executionId: 'r1',
				createdAt: '2025-01-01T00:00:02.000Z',
				expiresAt: '2025-02-01T00:00:00.000Z'
			});
			expect(await store.findShareByTokenHash('nope')).toBeUndefined();
			expect(await store.getShare('s1')).toEqual({ id: 's1', executionId: 'r1', createdAt: '2025-01-01T00:00:01.000Z' });
			expect(await store.getShare('nope')).toBeUndefined();
			expect((await store.listShares('r1')).map((s) => s.id)).toEqual(['s2', 's1']);
			expect(await store.revokeShare('r1', 's1', '2025-01-05T00:00:00.000Z')).toBe(true);
			expect(await store.revokeShare('r1', 's1', '2025-01-06T00:00:00.000Z')).toBe(true);
			expect((await store.getShare('s1'))?.revokedAt).toBe('2025-01-05T00:00:00.000Z'); // the first revocation stays
			expect(await store.revokeShare('r2', 's1', '2025-01-06T00:00:00.000Z')).toBe(false); // not that execution's
			expect(await store.revokeShare('r1', 'nope', '2025-01-06T00:00:00.000Z')).toBe(false);
			expect((await store.listShares('r1')).map((s) => [s.id, s.revokedAt])).toEqual([
				['s2', undefined],
				['s1', '2025-01-05T00:00:00.000Z']
			]);
			await expect(store.createShare({ id: 's4', executionId: 'r1', tokenHash: 'h1', createdAt: '2025-01-01T00:00:04.000Z' })).rejects.toThrow();
			// Deleting the execution takes its shares.
			expect(await store.deleteExecution('r1')).toBe(true);
			expect(await store.findShareByTokenHash('h2')).toBeUndefined();
			expect(await store.listShares('r1')).toEqual([]);
			expect(await store.getShare('s3')).toBeDefined();
		});
	});

	describe('viewer sessions', () => {
		test('create, get, delete; expired ones are swept when a new one starts', async () => {
			const day = 24 * 3600 * 1000;
			const live = { id: 'a'.repeat(64), createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + day).toISOString() };
			const expired = { id: 'b'.repeat(64), createdAt: '2020-01-01T00:00:00.000Z', expiresAt: '2020-01-02T00:00:00.000Z' };
			await store.createViewerSession(expired);
			expect(await store.getViewerSession(expired.id)).toEqual(expired);
			await store.createViewerSession(live);
			expect(await store.getViewerSession(live.id)).toEqual(live);
			expect(await store.getViewerSession(expired.id)).toBeUndefined();
			await store.deleteViewerSession(live.id);
			expect(await store.getViewerSession(live.id)).toBeUndefined();
			await expect(store.deleteViewerSession('nope')).resolves.toBeUndefined();
		});
	});

	describe('ping', () => {
		test('resolves while the store is open', async () => {
			await expect(store.ping()).resolves.toBeUndefined();
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

		test('a large execution: its oldest and newest matches are found (SQLite indexes it in chunks on a first search)', async () => {
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
}
