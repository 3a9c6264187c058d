// Scenario "fanout" (issue 5, scenario 1): 1 execution × 1,000 subscribers; the publisher posts
// one event per request, up to 32 requests in flight, as fast as the system acknowledges, for a
// fixed time; then every subscriber must hold every seq 1..N. Delivered events/s = events held
// by all subscribers ÷ time from the first POST to the last subscriber holding all of them.
import { fmt } from '../lib/table.js';
import { cpuBetween, cpuSnapshot, createExecution, mergeExpect, openSubscribers, sleep, withServer, withWorkers } from '../lib/harness.js';

const PAYLOAD = 100;

export default {
	name: 'fanout',
	description: '1 execution × N subscribers; one event per POST, K in flight, for D seconds; delivered events/s, loss/dup/order',
	systems: ['runwatch', 'runwatch-sse', 'socketio', 'ws-broadcast', 'ws-broadcast-tick'],
	defaults: { subscribers: 1000, durationMs: 3000, inFlight: 32, payloadBytes: PAYLOAD, loadProcs: 1, timeoutMs: 60000, warmupMs: 500 },
	quick: { durationMs: 1500, warmupMs: 300 },
	metrics: [
		'deliveredPerSec',
		'events',
		'publishPerSec',
		'elapsedMs',
		'serverCpuPct',
		'loadCpuPct',
		'deliveredPerServerCpuSec',
		'frames',
		'lost',
		'duplicated',
		'outOfOrder',
		'unexpected'
	],

	async run(system, ctx) {
		const p = ctx.params;
		return withServer(system, ctx, (server) =>
			withWorkers(p.loadProcs + 1, ctx, async (workers) => {
				const publisher = workers[0];
				const subscribers = workers.slice(1);
				const timeoutMs = p.timeoutMs;
				const common = { baseUrl: server.baseUrl, token: server.token, inFlight: p.inFlight, payloadBytes: p.payloadBytes };

				// Warm-up on another execution: JIT, connection pools, SQLite pages.
				if (p.warmupMs > 0) {
					const w = await createExecution(server, 'bench-warmup');
					await openSubscribers(subscribers, Math.min(50, p.subscribers), { system, server, executionId: w, ctx, skip: p.payloadBytes });
					const pub = await publisher.call('publish', { ...common, executionId: w, mode: 'burst', durationMs: p.warmupMs, prefix: 'w' });
					await Promise.all(subscribers.map((s) => s.call('expect', { total: pub.lastSeq, timeoutMs, graceMs: 0 }, timeoutMs + 10000)));
					await Promise.all(subscribers.map((s) => s.call('close')));
					await sleep(200);
				}

				const executionId = await createExecution(server, 'bench-fanout');
				await openSubscribers(subscribers, p.subscribers, { system, server, executionId, ctx, skip: p.payloadBytes });
				await sleep(300); // every subscription finishes its (empty) catch-up and goes live
				const c0 = await cpuSnapshot(server, workers);
				const pub = await publisher.call('publish', { ...common, executionId, mode: 'burst', durationMs: p.durationMs }, p.durationMs + timeoutMs);
				if (pub.errors.length) throw new Error(`publish errors: ${pub.errors.join('; ')}`);
				const total = pub.lastSeq;
				const got = mergeExpect(
					await Promise.all(subscribers.map((s) => s.call('expect', { total, timeoutMs, graceMs: 300 }, timeoutMs + 10000)))
				);
				const c1 = await cpuSnapshot(server, workers);
				const elapsedMs = (got.lastDoneAt - pub.firstAt) / 1000;
				const cpu = cpuBetween(c0, c1);
				return {
					events: total,
					publishPerSec: pub.accepted / ((pub.lastAt - pub.firstAt) / 1e6),
					elapsedMs,
					deliveredPerSec: got.delivered / (elapsedMs / 1000),
					...got,
					...cpu,
					deliveredPerServerCpuSec: cpu.serverCpuSec ? got.delivered / cpu.serverCpuSec : undefined
				};
			})
		);
	},

	report(summary, params, runs) {
		const sio = summary.find((s) => s.system === 'socketio')?.median?.deliveredPerSec;
		const tick = summary.find((s) => s.system === 'ws-broadcast-tick')?.median?.deliveredPerSec;
		const ratio = (v, b) => (Number.isFinite(v / b) ? `${fmt(v / b, 2)}×` : '-');
		const rows = summary.map((s) => {
			const m = s.median ?? {};
			const w = s.worst ?? {};
			return [
				s.label,
				fmt(m.deliveredPerSec),
				ratio(m.deliveredPerSec, sio),
				ratio(m.deliveredPerSec, tick),
				fmt(m.events),
				fmt(m.publishPerSec),
				fmt(m.elapsedMs),
				fmt(m.serverCpuPct),
				fmt(m.loadCpuPct),
				fmt(m.deliveredPerServerCpuSec),
				fmt(m.frames),
				s.median ? `${fmt(w.lost)} / ${fmt(w.duplicated)} / ${fmt(w.outOfOrder)}` : '-',
				`${s.completedRuns - s.timedOutRuns}/${runs}`
			];
		});
		return {
			title: `fanout: 1 execution × ${fmt(params.subscribers)} subscribers, one event per POST, ${params.inFlight} in flight, ${fmt(params.durationMs / 1000, 1)} s of publishing (median of ${runs} run(s))`,
			headers: [
				'system',
				'delivered events/s',
				'÷ Socket.IO',
				'÷ ws batched 10 ms',
				'events',
				'POST/s',
				'time ms',
				'server CPU %',
				'load CPU %',
				'delivered / server CPU-s',
				'frames recv',
				'lost / dup / ooo (worst)',
				'ok runs'
			],
			rows,
			notes: loadNotes(summary)
		};
	},

	targets(summary) {
		const get = (name) => summary.find((s) => s.system === name);
		const rw = get('runwatch');
		const sse = get('runwatch-sse');
		const sio = get('socketio')?.median?.deliveredPerSec;
		const tick = get('ws-broadcast-tick')?.median?.deliveredPerSec;
		const out = [];
		const ratioTarget = (s, base, factor, what) => {
			if (!s?.median || !Number.isFinite(base)) return;
			const r = s.median.deliveredPerSec / base;
			out.push({ target: `fan-out ${s.label} ≥ ${factor}× ${what}`, measured: `${fmt(r, 2)}× (${fmt(s.median.deliveredPerSec)} vs ${fmt(base)} events/s)`, pass: r >= factor });
		};
		ratioTarget(rw, sio, 5, 'Socket.IO');
		ratioTarget(rw, tick, 0.5, 'ws batched per 10 ms');
		ratioTarget(sse, sio, 3, 'Socket.IO');
		for (const s of [rw, sse]) {
			if (!s?.worst) continue;
			const w = s.worst;
			out.push({
				target: `fan-out ${s.label}: no loss, duplicate or reordering`,
				measured: `${w.lost} / ${w.duplicated} / ${w.outOfOrder}`,
				pass: !w.lost && !w.duplicated && !w.outOfOrder && !w.unexpected
			});
		}
		return out;
	}
};

export function loadNotes(summary) {
	return summary
		.filter((s) => s.median?.loadCpuPct >= 85)
		.map(
			(s) =>
				`${s.label}: the load side was saturated (${fmt(s.median.loadCpuPct)} % of a core): the client was the limit, so this figure is a lower bound of the server's capacity (see "delivered / server CPU-s").`
		);
}
