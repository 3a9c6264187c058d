// Scenario "catchup" (issue 5, scenario 4): an execution holds 100,000 stored events (ingested
// in batches of 1,000 before the clock starts); a new subscriber connects with since 0. Time from
// opening its connection until it holds all of them, in order. The peers keep nothing: n/a.
import { fmt } from '../lib/table.js';
import { cpuBetween, cpuSnapshot, createExecution, mergeExpect, openSubscribers, withServer, withWorkers } from '../lib/harness.js';

export default {
	name: 'catchup',
	description: 'a new subscriber to an execution with E stored events: time until it holds all',
	systems: ['runwatch', 'runwatch-sse'],
	notApplicable: { socketio: 'no storage', 'ws-broadcast': 'no storage', 'ws-broadcast-tick': 'no storage' },
	defaults: { events: 100000, payloadBytes: 100, timeoutMs: 60000 },
	quick: {},
	metrics: ['catchupMs', 'eventsPerSec', 'events', 'frames', 'serverCpuPct', 'loadCpuPct', 'lost', 'duplicated', 'outOfOrder', 'unexpected'],

	async run(system, ctx) {
		const p = ctx.params;
		return withServer(system, ctx, (server) =>
			withWorkers(2, ctx, async ([writer, reader]) => {
				const executionId = await createExecution(server, 'bench-catchup');
				const ing = await writer.call(
					'ingest',
					{ baseUrl: server.baseUrl, token: server.token, executionId, total: p.events, batch: 1000, inFlight: 4, payloadBytes: p.payloadBytes },
					p.timeoutMs + 10000
				);
				if (ing.lastSeq !== p.events) throw new Error(`ingest stored ${ing.lastSeq} of ${p.events}`);
				const c0 = await cpuSnapshot(server, [reader]);
				const [opened] = await openSubscribers([reader], 1, { system, server, executionId, ctx, skip: p.payloadBytes });
				const got = mergeExpect([await reader.call('expect', { total: p.events, timeoutMs: p.timeoutMs, graceMs: 200 }, p.timeoutMs + 10000)]);
				const c1 = await cpuSnapshot(server, [reader]);
				const catchupMs = (got.lastDoneAt - opened.startedAt) / 1000;
				return { ...got, events: p.events, catchupMs, eventsPerSec: p.events / (catchupMs / 1000), ...cpuBetween(c0, c1) };
			})
		);
	},

	report(summary, params, runs) {
		const rows = summary.map((s) => {
			const m = s.median ?? {};
			const w = s.worst ?? {};
			if (s.notApplicable) return [s.label, 'n/a', 'n/a', '-', '-', '-', `n/a (${s.notApplicable})`, '-'];
			return [
				s.label,
				fmt(m.catchupMs),
				fmt(m.eventsPerSec),
				fmt(m.frames),
				fmt(m.serverCpuPct),
				fmt(m.loadCpuPct),
				s.median ? `${fmt(w.lost)} / ${fmt(w.duplicated)} / ${fmt(w.outOfOrder)}` : '-',
				`${s.completedRuns - s.timedOutRuns}/${runs}`
			];
		});
		return {
			title: `catchup: a new subscriber (since 0) to an execution with ${fmt(params.events)} stored events (median of ${runs} run(s))`,
			headers: ['system', 'time to hold all, ms', 'events/s', 'frames / chunks', 'server CPU %', 'load CPU %', 'lost / dup / ooo (worst)', 'ok runs'],
			rows,
			notes: []
		};
	},

	targets(summary) {
		return summary
			.filter((s) => s.median)
			.map((s) => ({ target: `catch-up ${s.label}: ${fmt(s.median.events)} events < 1 s`, measured: `${fmt(s.median.catchupMs)} ms`, pass: s.median.catchupMs < 1000 && !s.worst.lost }));
	}
};
