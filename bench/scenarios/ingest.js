// Scenario "ingest" (issue 5, scenario 5): events/s committed into SQLite through the HTTP API,
// in batches (`{ events: [...] }`), K requests in flight, each answered only after its commit.
// The peers keep nothing: n/a.
import { fmt } from '../lib/table.js';
import { cpuBetween, cpuSnapshot, createExecution, withServer, withWorkers } from '../lib/harness.js';

export default {
	name: 'ingest',
	description: 'E events in HTTP batches of B, K in flight, acknowledged after commit: committed events/s',
	systems: ['runwatch'],
	// On PostgreSQL when named (it needs a local PostgreSQL): --systems runwatch,runwatch-pg
	optionalSystems: ['runwatch-pg'],
	notApplicable: { 'runwatch-sse': 'same ingest path as Runwatch', socketio: 'no storage', 'ws-broadcast': 'no storage', 'ws-broadcast-tick': 'no storage' },
	defaults: { events: 200000, batch: 100, inFlight: 8, payloadBytes: 100, timeoutMs: 120000, warmupEvents: 10000 },
	quick: { events: 50000, warmupEvents: 5000 },
	metrics: ['eventsPerSec', 'eventsPerServerCpuSec', 'elapsedMs', 'requestsPerSec', 'serverCpuPct', 'loadCpuPct', 'events'],

	async run(system, ctx) {
		const p = ctx.params;
		return withServer(system, ctx, (server) =>
			withWorkers(1, ctx, async ([writer]) => {
				const common = { baseUrl: server.baseUrl, token: server.token, batch: p.batch, inFlight: p.inFlight, payloadBytes: p.payloadBytes };
				if (p.warmupEvents > 0) {
					const w = await createExecution(server, 'bench-ingest-warmup');
					await writer.call('ingest', { ...common, executionId: w, total: p.warmupEvents, prefix: 'w' }, p.timeoutMs + 10000);
				}
				const executionId = await createExecution(server, 'bench-ingest');
				const c0 = await cpuSnapshot(server, [writer]);
				const ing = await writer.call('ingest', { ...common, executionId, total: p.events, timeoutMs: p.timeoutMs }, p.timeoutMs + 10000);
				const c1 = await cpuSnapshot(server, [writer]);
				if (ing.accepted !== p.events || ing.lastSeq !== p.events) throw new Error(`committed ${ing.accepted} (lastSeq ${ing.lastSeq}) of ${p.events}`);
				const cpu = cpuBetween(c0, c1);
				return {
					eventsPerServerCpuSec: cpu.serverCpuSec ? ing.accepted / cpu.serverCpuSec : undefined,
					events: ing.accepted,
					elapsedMs: ing.elapsedMs,
					eventsPerSec: ing.accepted / (ing.elapsedMs / 1000),
					requestsPerSec: ing.requests / (ing.elapsedMs / 1000),
					...cpu
				};
			})
		);
	},

	report(summary, params, runs) {
		const rows = summary.map((s) => {
			const m = s.median ?? {};
			if (s.notApplicable) return [s.label, 'n/a', '-', '-', '-', '-', '-', `n/a (${s.notApplicable})`];
			return [s.label, fmt(m.eventsPerSec), fmt(m.eventsPerServerCpuSec), fmt(m.requestsPerSec), fmt(m.elapsedMs), fmt(m.serverCpuPct), fmt(m.loadCpuPct), `${s.completedRuns}/${runs}`];
		});
		return {
			title: `ingest: ${fmt(params.events)} events in batches of ${params.batch}, ${params.inFlight} requests in flight, acknowledged after commit (median of ${runs} run(s))`,
			headers: ['system', 'committed events/s', 'events / server CPU-s', 'requests/s', 'time ms', 'server CPU %', 'load CPU %', 'ok runs'],
			rows,
			notes: []
		};
	},

	targets(summary) {
		const s = summary.find((x) => x.system === 'runwatch');
		const pg = summary.find((x) => x.system === 'runwatch-pg');
		const targets = [];
		if (s?.median) targets.push({ target: `ingest ${s.label}: > 50,000 events/s`, measured: `${fmt(s.median.eventsPerSec)} events/s`, pass: s.median.eventsPerSec > 50000 });
		// Issue 11 asks 30,000 events/s of 3 nodes on PostgreSQL; one node is shown against it
		// and beside SQLite from the same run.
		if (pg?.median) {
			const ratio = s?.median ? ` (${(pg.median.eventsPerSec / s.median.eventsPerSec).toFixed(2)}× SQLite)` : '';
			targets.push({ target: `ingest ${pg.label}, 1 node: ≥ 30,000 events/s`, measured: `${fmt(pg.median.eventsPerSec)} events/s${ratio}`, pass: pg.median.eventsPerSec >= 30000 });
		}
		return targets;
	}
};
