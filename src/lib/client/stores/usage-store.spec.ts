import { get } from 'svelte/store';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { UsageReport } from '../../protocol/api.js';
import type { Execution } from '../../protocol/executions.js';
import type { Connection } from '../connection.js';
import { applyUsageUpdates, liveUsage, localDayStart, msToNextDay, usageStore, usageTotals } from './usage-store.js';

function run(id: string, agent: string, createdAt: string, over: Partial<Execution> = {}): Execution {
	return {
		id,
		agent: { name: agent },
		metadata: {},
		createdAt,
		updatedAt: createdAt,
		status: 'running',
		lastSeq: 1,
		usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
		...over
	};
}

const since = '2026-12-02T00:00:00.000Z';
const at = '2026-12-02T10:00:00.000Z';
const open = run('open', 'researcher', '2026-12-02T09:00:00.000Z', { usage: { inputTokens: 10, outputTokens: 5, costUsd: 0.01 } });
const usage: UsageReport = {
	since,
	at,
	agents: [
		// One ended researcher run (100 + 50 tokens, $0.2, failed) and the open one as it was.
		{ agent: 'researcher', runs: 2, failed: 1, inputTokens: 110, outputTokens: 55, costUsd: 0.21 },
		{ agent: 'biller', runs: 1, failed: 0, inputTokens: 1, outputTokens: 1, costUsd: 0.0055 }
	],
	open: [open]
};

describe('live usage totals', () => {
	test('the aggregate as the server read it, most runs first, with a sum', () => {
		const totals = usageTotals(liveUsage(usage));
		expect(totals.agents.map((a) => a.agent)).toEqual(['researcher', 'biller']);
		expect(totals.all).toEqual({ runs: 3, failed: 1, inputTokens: 111, outputTokens: 56, costUsd: 0.2155 });
	});

	test('an open execution’s newer summary replaces its share; repeated and older ones change nothing', () => {
		const done = { ...open, status: 'failed' as const, lastSeq: 9, updatedAt: '2026-12-02T10:05:00.000Z', usage: { inputTokens: 40, outputTokens: 5, costUsd: 0.05 } };
		let state = applyUsageUpdates(liveUsage(usage), [done]);
		state = applyUsageUpdates(state, [done, open]);
		const researcher = usageTotals(state).agents[0]!;
		expect(researcher).toEqual({ agent: 'researcher', runs: 2, failed: 2, inputTokens: 140, outputTokens: 55, costUsd: 0.25 });
	});

	test('executions created after the read are added, new agents included', () => {
		const fresh = run('fresh', 'courier', '2026-12-02T10:00:01.000Z');
		let state = applyUsageUpdates(liveUsage(usage), [fresh]);
		state = applyUsageUpdates(state, [{ ...fresh, lastSeq: 3, usage: { inputTokens: 7, outputTokens: 3, costUsd: 0.001 } }]);
		const totals = usageTotals(state);
		expect(totals.agents.find((a) => a.agent === 'courier')).toEqual({ agent: 'courier', runs: 1, failed: 0, inputTokens: 7, outputTokens: 3, costUsd: 0.001 });
		expect(totals.all.runs).toBe(4);
	});

	test('a late summary of one counted as ended, or one from an earlier day, is not counted twice', () => {
		const ended = run('ended', 'researcher', '2026-12-02T08:00:00.000Z', { status: 'failed', lastSeq: 20 });
		const yesterday = run('old', 'researcher', '2026-12-01T23:59:59.000Z');
		const state = applyUsageUpdates(liveUsage(usage), [ended, yesterday]);
		expect(usageTotals(state)).toEqual(usageTotals(liveUsage(usage)));
	});
});

describe("the viewer's day", () => {
	const zone = process.env.TZ;
	afterEach(() => {
		vi.useRealTimers();
		if (zone === undefined) delete process.env.TZ;
		else process.env.TZ = zone;
	});

	test('local midnight and the time to the next one, in the viewer’s zone', () => {
		process.env.TZ = 'America/New_York';
		const evening = new Date('2026-12-02T23:30:00-05:00');
		expect(localDayStart(evening)).toBe('2026-12-02T05:00:00.000Z');
		expect(msToNextDay(evening)).toBe(30 * 60 * 1000);
	});

	test('the page reads the viewer’s day, not the server’s UTC one, and starts over at its midnight', async () => {
		process.env.TZ = 'America/New_York';
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
		vi.setSystemTime(new Date('2026-12-02T23:59:00-05:00'));
		const asked: string[] = [];
		const reports: Record<string, UsageReport> = {
			'2026-12-02T05:00:00.000Z': { ...usage, since: '2026-12-02T05:00:00.000Z', at: new Date().toISOString() },
			'2026-12-03T05:00:00.000Z': { since: '2026-12-03T05:00:00.000Z', at: '2026-12-03T05:00:30.000Z', agents: [], open: [] }
		};
		const fakeFetch = (async (input: string) => {
			const since = new URL(input, 'http://x').searchParams.get('since')!;
			asked.push(since);
			return new Response(JSON.stringify(reports[since]), { headers: { 'content-type': 'application/json' } });
		}) as unknown as typeof fetch;
		let onSubscribed: (() => void) | undefined;
		const connection = {
			subscribeExecutions: (listener: { onSubscribed?: () => void }) => {
				onSubscribed = listener.onSubscribed;
				return () => {};
			}
		} as unknown as Connection;
		// The server rendered the UTC day.
		const store = usageStore({ ...usage, since: '2026-12-03T00:00:00.000Z' }, { connection, fetch: fakeFetch, schedule: (cb) => (cb(), () => {}) });
		const seen: { since: string; runs: number }[] = [];
		const stop = store.subscribe((totals) => seen.push({ since: totals.since, runs: totals.all.runs }));
		onSubscribed!();
		await vi.waitFor(() => expect(get(store).since).toBe('2026-12-02T05:00:00.000Z'));
		expect(asked).toEqual(['2026-12-02T05:00:00.000Z']);
		expect(get(store).all.runs).toBe(3);
		// Past the viewer's midnight: the new day, from zero.
		await vi.advanceTimersByTimeAsync(2 * 60 * 1000);
		await vi.waitFor(() => expect(get(store).since).toBe('2026-12-03T05:00:00.000Z'));
		expect(asked).toEqual(['2026-12-02T05:00:00.000Z', '2026-12-03T05:00:00.000Z']);
		expect(get(store).all.runs).toBe(0);
		stop();
		expect(seen[0]!.since).toBe('2026-12-03T00:00:00.000Z');
	});
});
