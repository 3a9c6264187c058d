import { describe, expect, test } from 'vitest';
import type { UsageReport } from '../../protocol/api.js';
import type { Execution } from '../../protocol/executions.js';
import { applyUsageUpdates, liveUsage, usageTotals } from './usage-store.js';

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
