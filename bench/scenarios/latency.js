// Scenario "latency" (issue 5, scenario 2): 1 execution × 1,000 subscribers, the publisher posts
// one event every 10 ms (100 events/s, 100,000 deliveries/s) for 10 s. Each event carries the
// publisher's send time (CLOCK_MONOTONIC µs, taken just before its POST); each subscriber takes
// its receipt time on the same clock: p50 / p99 / max of receipt − send over every delivery.
import { fmt } from '../lib/table.js';
import { cpuBetween, cpuSnapshot, createExecution, mergeExpect, openSubscribers, sleep, withServer, withWorkers } from '../lib/harness.js';
import { loadNotes } from './fanout.js';

export default {
	name: 'latency',
	description: '1 execution × N subscribers, R events/s (one per POST) for D seconds: POST → receipt p50 / p99 / max',
	systems: ['runwatch', 'runwatch-sse', 'socketio', 'ws-broadcast', 'ws-broadcast-tick'],
	defaults: { subscribers: 1000, rate: 100, durationMs: 10000, inFlight: 32, payloadBytes: 100, loadProcs: 1, timeoutMs: 60000, warmupMs: 1000 },
	quick: { durationMs: 3000, warmupMs: 500 },
	metrics: ['p50Ms', 'p99Ms', 'maxMs', 'samples', 'events', 'deliveredPerSec', 'serverCpuPct', 'loadCpuPct', 'lost', 'duplicated', 'outOfOrder', 'unexpected', 'behind'],

	async run(system, ctx) {
		const p = ctx.params;
		return withServer(system, ctx, (server) =>
			withWorkers(p.loadProcs + 1, ctx, async (workers) => {
				const publisher = workers[0];
				const subscribers = workers.slice(1);
				const executionId = await createExecution(server, 'bench-latency');
				await openSubscribers(subscribers, p.subscribers, { system, server, executionId, ctx, latency: true, skip: p.payloadBytes });
				const common = { baseUrl: server.baseUrl, token: server.token, executionId, inFlight: p.inFlight, payloadBytes: p.payloadBytes, mode: 'rate', rate: p.rate, stamp: true };
				// Warm-up at the same rate on the same subscribers; its seqs are cut from the figures.
				let warm = 0;
				if (p.warmupMs > 0) {
					const w = await publisher.call('publish', { ...common, durationMs: p.warmupMs, prefix: 'w' }, p.warmupMs + p.timeoutMs);
					warm = w.lastSeq;
					await Promise.all(subscribers.map((s) => s.call('expect', { total: warm, timeoutMs: p.timeoutMs, graceMs: 50 }, p.timeoutMs + 10000)));
					await Promise.all(subscribers.map((s) => s.call('resetLatency')));
					await sleep(100);
				}
				const c0 = await cpuSnapshot(server, workers);
				const pub = await publisher.call('publish', { ...common, durationMs: p.durationMs }, p.durationMs + p.timeoutMs);
				if (pub.errors.length) throw new Error(`publish errors: ${pub.errors.join('; ')}`);
				const total = pub.lastSeq;
				const got = mergeExpect(
					await Promise.all(subscribers.map((s) => s.call('expect', { total, timeoutMs: p.timeoutMs, graceMs: 300 }, p.timeoutMs + 10000)))
				);
				const c1 = await cpuSnapshot(server, workers);
				const lat = got.latency ?? {};
				const timed = total - warm;
				return {
					...got,
					events: timed,
					samples: lat.samples,
					p50Ms: lat.p50Ms,
					p99Ms: lat.p99Ms,
					maxMs: lat.maxMs,
					behind: pub.behind,
					deliveredPerSec: (timed * got.subscribers) / (p.durationMs / 1000),
					...cpuBetween(c0, c1)
				};
			})
		);
	},

	report(summary, params, runs) {
		const rows = summary.map((s) => {
			const m = s.median ?? {};
			const w = s.worst ?? {};
			return [
				s.label,
				fmt(m.p50Ms, 1),
				fmt(m.p99Ms, 1),
				fmt(m.maxMs, 1),
				fmt(m.events),
				fmt(m.samples),
				fmt(m.deliveredPerSec),
				fmt(m.serverCpuPct),
				fmt(m.loadCpuPct),
				s.median ? `${fmt(w.lost)} / ${fmt(w.duplicated)} / ${fmt(w.outOfOrder)}` : '-',
				`${s.completedRuns - s.timedOutRuns}/${runs}`
			];
		});
		return {
			title: `latency: 1 execution × ${fmt(params.subscribers)} subscribers × ${params.rate} events/s for ${fmt(params.durationMs / 1000)} s, POST → receipt (median of ${runs} run(s))`,
			headers: ['system', 'p50 ms', 'p99 ms', 'max ms', 'events', 'deliveries timed', 'deliveries/s', 'server CPU %', 'load CPU %', 'lost / dup / ooo (worst)', 'ok runs'],
			rows,
			notes: loadNotes(summary)
		};
	},

	targets(summary) {
		const out = [];
		for (const [name, limit] of [
			['runwatch', 50],
			['runwatch-sse', 100]
		]) {
			const s = summary.find((x) => x.system === name);
			if (!s?.median) continue;
			const w = s.worst;
			out.push({ target: `latency ${s.label}: p99 < ${limit} ms`, measured: `${fmt(s.median.p99Ms, 1)} ms`, pass: s.median.p99Ms < limit });
			out.push({
				target: `latency ${s.label}: no loss`,
				measured: `${w.lost} lost / ${w.duplicated} dup / ${w.outOfOrder} ooo`,
				pass: !w.lost && !w.duplicated && !w.outOfOrder && !w.unexpected
			});
		}
		return out;
	}
};
