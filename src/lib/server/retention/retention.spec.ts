import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { createSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { Retention, type RetentionOptions } from './retention.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.parse('2025-06-01T00:00:00.000Z');
const daysAgo = (days: number) => new Date(NOW - days * DAY).toISOString();

let store: Store;
let deleted: string[];

beforeEach(() => {
	store = createSqliteStore({ file: ':memory:' });
	deleted = [];
});
afterEach(async () => {
	vi.useRealTimers();
	await store.close();
});

function retention(options: Partial<RetentionOptions> = {}): Retention {
	return new Retention({
		store,
		publisher: { publishDeleted: (id) => deleted.push(id) },
		days: 30,
		now: () => NOW,
		log: () => {},
		...options
	});
}

/** An execution with `count` events, ended `endedDaysAgo` days ago (or still running when undefined). */
async function seed(id: string, count: number, endedDaysAgo?: number): Promise<void> {
	await store.createExecution({ id, agent: { name: 'a' }, metadata: {}, createdAt: daysAgo(400) });
	const events = Array.from({ length: count }, (_, i) => ({ id: `e${i}`, type: 'output', ts: daysAgo(400), data: { text: `line ${i}` } }));
	for (let i = 0; i < events.length; i += 1000) await store.appendEvents(id, events.slice(i, i + 1000));
	if (endedDaysAgo !== undefined) await store.appendEvents(id, [{ id: 'end', type: 'agent-complete', ts: daysAgo(endedDaysAgo) }]);
}

describe('Retention', () => {
	test('deletes executions that ended before the cutoff, announces each, and never touches running ones', async () => {
		await seed('old', 50, 31);
		await seed('older', 5, 90);
		await seed('recent', 5, 29);
		await seed('running-for-ages', 5);
		const run = await retention().runOnce();
		expect(run).toEqual({ executions: 2, events: 51 + 6 });
		expect(deleted).toEqual(['older', 'old']);
		expect(await store.getExecution('old')).toBeUndefined();
		expect(await store.readEvents('old', 0, 100)).toEqual([]);
		expect(await store.getExecution('recent')).toBeDefined();
		expect(await store.getExecution('running-for-ages')).toBeDefined();
		expect(await retention().runOnce()).toEqual({ executions: 0, events: 0 });
	});

	test('deletes in chunks of chunkEvents, yielding to the event loop after every one', async () => {
		await seed('big', 1049, 40);
		const chunkSpy = vi.spyOn(store, 'deleteEventsChunk');
		let yields = 0;
		const run = await retention({ chunkEvents: 100, yieldToLoop: async () => void yields++ }).runOnce();
		expect(run).toEqual({ executions: 1, events: 1050 });
		expect(chunkSpy.mock.calls.every(([, limit]) => limit === 100)).toBe(true);
		expect(chunkSpy).toHaveBeenCalledTimes(11); // 10 full, then the last 50
		expect(yields).toBeGreaterThanOrEqual(11);
	});

	test('ingest gets in between two chunks', async () => {
		await seed('big', 3000, 40);
		await seed('live', 0);
		const order: string[] = [];
		const chunk = store.deleteEventsChunk.bind(store);
		vi.spyOn(store, 'deleteEventsChunk').mockImplementation(async (id, limit) => {
			order.push('chunk');
			return chunk(id, limit);
		});
		const running = retention({ chunkEvents: 500 }).runOnce();
		// An append queued now runs at the first yield, not after the whole run.
		const append = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
			await store.appendEvents('live', [{ id: 'x', type: 'output', ts: daysAgo(0) }]);
			order.push('append');
		});
		await Promise.all([running, append]);
		expect(order.indexOf('append')).toBeGreaterThan(0);
		expect(order.indexOf('append')).toBeLessThan(order.length - 1);
	});

	test('gives the space back in steps after deleting', async () => {
		await seed('old', 10, 40);
		const reclaim = vi.spyOn(store, 'reclaimSpace').mockResolvedValueOnce(3).mockResolvedValueOnce(1).mockResolvedValue(0);
		await retention({ reclaimPagesPerStep: 7 }).runOnce();
		expect(reclaim.mock.calls).toEqual([[7], [7], [7]]);
		reclaim.mockClear();
		await retention().runOnce(); // nothing deleted: nothing to reclaim
		expect(reclaim).not.toHaveBeenCalled();
	});

	test('start: first run after the delay, then every interval; without days, never', async () => {
		vi.useFakeTimers();
		const list = vi.spyOn(store, 'listEndedBefore');
		const none = retention({ days: undefined });
		none.start();
		await vi.advanceTimersByTimeAsync(10 * 60 * 60 * 1000);
		expect(list).not.toHaveBeenCalled();

		const r = retention({ firstRunDelayMs: 1000, intervalMs: 60_000, yieldToLoop: async () => {} });
		r.start();
		await vi.advanceTimersByTimeAsync(999);
		expect(list).toHaveBeenCalledTimes(0);
		await vi.advanceTimersByTimeAsync(1);
		expect(list).toHaveBeenCalledTimes(1);
		await vi.advanceTimersByTimeAsync(60_000);
		expect(list).toHaveBeenCalledTimes(2);
		await r.stop();
		await vi.advanceTimersByTimeAsync(120_000);
		expect(list).toHaveBeenCalledTimes(2);
	});

	test('a failed run is logged and tried again at the next interval (no unhandled rejection)', async () => {
		await seed('old', 3, 40);
		// Only the timers retention schedules: the store commits grouped appends on setImmediate.
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
		const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
		vi.spyOn(store, 'listEndedBefore').mockRejectedValueOnce(new Error('disk on fire'));
		const r = retention({ firstRunDelayMs: 10, intervalMs: 1000, yieldToLoop: async () => {} });
		r.start();
		await vi.advanceTimersByTimeAsync(10);
		expect(errors).toHaveBeenCalledTimes(1);
		expect(deleted).toEqual([]);
		await vi.advanceTimersByTimeAsync(1000);
		expect(deleted).toEqual(['old']);
		await r.stop();
		expect(await r.runOnce()).toEqual({ executions: 0, events: 0 });
	});

	test('stop() ends a run between two chunks and waits for it', async () => {
		await seed('big', 5000, 40);
		let r: Retention | undefined;
		let chunks = 0;
		let stopping: Promise<void> | undefined;
		r = retention({
			chunkEvents: 500,
			yieldToLoop: async () => {
				if (++chunks === 2) stopping = r!.stop();
			}
		});
		const run = await r.runOnce();
		await stopping;
		expect(run.events).toBe(1000);
		expect(deleted).toEqual([]);
		expect(await store.getExecution('big')).toBeDefined(); // the next start carries on
	});

	test('reclaimSoon gives back a manual delete\'s space a little later, once for several', async () => {
		vi.useFakeTimers();
		const reclaim = vi.spyOn(store, 'reclaimSpace').mockResolvedValue(0);
		const r = retention({ reclaimDelayMs: 500 });
		r.reclaimSoon();
		r.reclaimSoon();
		await vi.advanceTimersByTimeAsync(499);
		expect(reclaim).not.toHaveBeenCalled();
		await vi.advanceTimersByTimeAsync(1);
		expect(reclaim).toHaveBeenCalledTimes(1);
		await r.stop();
	});

	test('refuses a non-positive retention', () => {
		expect(() => retention({ days: 0 })).toThrow(RangeError);
	});
});
