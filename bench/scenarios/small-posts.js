// Scenario "small-posts" (issue 11, "One node cheaper first"): single-event POSTs, 32 in flight,
// no viewers, as fast as the server acknowledges (each after its commit), for D seconds.
// Runwatch beside the floor: a bare Node `http` server doing one better-sqlite3 transaction per
// request (bench/systems/bare-sqlite.js), in the same run, so the figure is a ratio.
import { fmt } from '../lib/table.js';
import { cpuBetween, cpuSnapshot, createExecution, withServer, withWorkers } from '../lib/harness.js';

export default {
	name: 'small-posts',
	description: 'one event per POST, K in flight, no viewers, D seconds: committed requests/s beside a bare http + SQLite floor',
	systems: ['runwatch', 'bare-sqlite'],
	notApplicable: { socketio: 'no storage', 'ws-broadcast': 'no storage', 'ws-broadcast-tick': 'no storage', 'sse-loop': 'no storage' },
	defaults: { durationMs: 4000, inFlight: 32, payloadBytes: 100, warmupMs: 1000, timeoutMs: 60000 },
	quick: { durationMs: 2000, warmupMs: 500 },
	metrics: ['requestsPerSec', 'requestsPerServerCpuSec', 'serverCpuPct', 'loadCpuPct', 'requests'],

	async run(system, ctx) {
		const p = ctx.params;
		return withServer(system, ctx, (server) =>
			withWorkers(1, ctx, async ([publisher]) => {
				const common = { baseUrl: server.baseUrl, token: server.token, inFlight: p.inFlight, payloadBytes: p.payloadBytes, mode: 'burst' };
				if (p.warmupMs > 0) {
					const w = await createExecution(server, 'bench-small-warmup');
					await publisher.call('publish', { ...common, executionId: w, durationMs: p.warmupMs, prefix: 'w' }, p.timeoutMs);
				}
				const executionId = await createExecution(server, 'bench-small');
				const c0 = await cpuSnapshot(server, [publisher]);
				const pub = await publisher.call('publish', { ...common, executionId, durationMs: p.durationMs }, p.durationMs + p.timeoutMs);
				const c1 = await cpuSnapshot(server, [publisher]);
				if (pub.errors.length) throw new Error(`publish errors: ${pub.errors.join('; ')}`);
				if (pub.lastSeq !== pub.accepted) throw new Error(`acknowledged ${pub.accepted} but lastSeq is ${pub.lastSeq}`);
				const cpu = cpuBetween(c0, c1);
				return {
					requests: pub.accepted,
					requestsPerSec: pub.accepted / ((pub.lastAt - pub.firstAt) / 1e6),
					requestsPerServerCpuSec: cpu.serverCpuSec ? pub.accepted / cpu.serverCpuSec : undefined,
					headline: `${fmt(pub.accepted / ((pub.lastAt - pub.firstAt) / 1e6))} POST/s`,
					...cpu
				};
			})
		);
	},

	report(summary, params, runs) {
		const floor = summary.find((s) => s.system === 'bare-sqlite')?.median?.requestsPerSec;
		const rows = summary.map((s) => {
			if (s.notApplicable) return [s.label, 'n/a', '-', '-', '-', '-', `n/a (${s.notApplicable})`];
			const m = s.median ?? {};
			const ratio = m.requestsPerSec / floor;
			return [s.label, fmt(m.requestsPerSec), Number.isFinite(ratio) ? `${fmt(ratio, 2)}×` : '-', fmt(m.requestsPerServerCpuSec), fmt(m.serverCpuPct), fmt(m.loadCpuPct), `${s.completedRuns}/${runs}`];
		});
		return {
			title: `small-posts: one event per POST, ${params.inFlight} in flight, no viewers, ${fmt(params.durationMs / 1000, 1)} s, each acknowledged after commit (median of ${runs} run(s))`,
			headers: ['system', 'POST/s', '÷ bare floor', 'POST / server CPU-s', 'server CPU %', 'load CPU %', 'ok runs'],
			rows,
			notes: [
				'The floor: a bare Node http server, JSON.parse and one better-sqlite3 transaction per request (same pragmas), nothing else. On a shared machine only the ratio compares.',
				'Load CPU % near 100: the single load process was the limit, so both figures are lower bounds.'
			]
		};
	},

	targets(summary) {
		const s = summary.find((x) => x.system === 'runwatch')?.median?.requestsPerSec;
		const floor = summary.find((x) => x.system === 'bare-sqlite')?.median?.requestsPerSec;
		if (!s || !floor) return [];
		return [{ target: 'small-posts Runwatch: ≥ 0.8× the bare http + SQLite floor', measured: `${fmt(s / floor, 2)}× (${fmt(s)} vs ${fmt(floor)} POST/s)`, pass: s / floor >= 0.8 }];
	}
};
