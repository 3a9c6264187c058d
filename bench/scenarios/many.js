// Scenario "many" (issue 11, "One node cheaper first"): 1,000 executions with one viewer each;
// the publisher posts batches of 10 events to each execution in turn, 32 requests in flight,
// for R rounds; every viewer must then hold every seq of its execution. Delivered events/s =
// events held by all viewers ÷ time from the first POST to the last viewer holding all of them.
// Peer: the plain `ws` loop framing one `events` message per POST (Runwatch's framing, without
// storage, validation or SvelteKit), in the same run.
import { fmt } from '../lib/table.js';
import { cpuBetween, cpuSnapshot, createExecution, mergeExpect, sleep, subscriberTarget, withServer, withWorkers } from '../lib/harness.js';

async function createMany(server, count, name) {
	const ids = [];
	// A few at a time: creation is not what is measured.
	for (let i = 0; i < count; i += 20) {
		ids.push(...(await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, j) => createExecution(server, `${name}-${i + j}`)))));
	}
	return ids;
}

export default {
	name: 'many',
	description: 'E executions × 1 viewer each; batches of B events per POST to each in turn, K in flight; delivered events/s',
	systems: ['runwatch', 'runwatch-sse', 'ws-broadcast-batched'],
	notApplicable: {},
	defaults: { executions: 1000, rounds: 10, batch: 10, inFlight: 32, payloadBytes: 100, loadProcs: 1, timeoutMs: 300000 },
	quick: { rounds: 5 },
	metrics: ['deliveredPerSec', 'deliveredPerServerCpuSec', 'publishPerSec', 'elapsedMs', 'serverCpuPct', 'loadCpuPct', 'events', 'frames', 'lost', 'duplicated', 'outOfOrder', 'unexpected'],

	async run(system, ctx) {
		const p = ctx.params;
		return withServer(system, ctx, (server) =>
			withWorkers(p.loadProcs + 1, ctx, async (workers) => {
				const [publisher, ...subscribers] = workers;
				const common = { baseUrl: server.baseUrl, token: server.token, inFlight: p.inFlight, payloadBytes: p.payloadBytes, batch: p.batch, timeoutMs: p.timeoutMs };
				// Warm-up on 100 other executions: JIT, pools, SQLite pages.
				const warm = await createMany(server, 100, 'bench-many-warmup');
				await openMany(subscribers, warm, system, server, ctx, p);
				await publisher.call('publishMany', { ...common, executionIds: warm, rounds: 3, prefix: 'w' }, p.timeoutMs + 10000);
				await Promise.all(subscribers.map((s) => s.call('expect', { total: 3 * p.batch, timeoutMs: p.timeoutMs, graceMs: 0 }, p.timeoutMs + 10000)));
				await Promise.all(subscribers.map((s) => s.call('close')));
				await sleep(200);

				const ids = await createMany(server, p.executions, 'bench-many');
				await openMany(subscribers, ids, system, server, ctx, p);
				await sleep(300); // every subscription finishes its (empty) catch-up and goes live
				const c0 = await cpuSnapshot(server, workers);
				const pub = await publisher.call('publishMany', { ...common, executionIds: ids, rounds: p.rounds }, p.timeoutMs + 10000);
				const total = p.rounds * p.batch;
				const got = mergeExpect(await Promise.all(subscribers.map((s) => s.call('expect', { total, timeoutMs: p.timeoutMs, graceMs: 300 }, p.timeoutMs + 10000))));
				const c1 = await cpuSnapshot(server, workers);
				const elapsedMs = (got.lastDoneAt - pub.firstAt) / 1000;
				const cpu = cpuBetween(c0, c1);
				return {
					events: pub.accepted,
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
		const peer = summary.find((s) => s.system === 'ws-broadcast-batched')?.median?.deliveredPerSec;
		const rows = summary.map((s) => {
			const m = s.median ?? {};
			const w = s.worst ?? {};
			const ratio = m.deliveredPerSec / peer;
			return [
				s.label,
				fmt(m.deliveredPerSec),
				Number.isFinite(ratio) ? `${fmt(ratio, 2)}×` : '-',
				fmt(m.deliveredPerServerCpuSec),
				fmt(m.publishPerSec),
				fmt(m.serverCpuPct),
				fmt(m.loadCpuPct),
				`${w.lost ?? '-'}/${w.duplicated ?? '-'}/${w.outOfOrder ?? '-'}`,
				`${s.completedRuns}/${runs}`
			];
		});
		return {
			title: `many: ${fmt(params.executions)} executions × 1 viewer, ${params.rounds} rounds of ${params.batch} events per POST to each, ${params.inFlight} in flight (median of ${runs} run(s))`,
			headers: ['system', 'delivered ev/s', '÷ ws batched', 'delivered / server CPU-s', 'committed ev/s', 'server CPU %', 'load CPU %', 'lost/dup/ooo (worst)', 'ok runs'],
			rows,
			notes: ['Peer: the plain `ws` loop sending one `events` frame per POST, no storage. Delivered / server CPU-s is the steadier figure on a shared machine.']
		};
	},

	targets() {
		return [];
	}
};

async function openMany(workers, ids, system, server, ctx, p) {
	const target = subscriberTarget(system, server, '__ID__', ctx);
	const share = Math.ceil(ids.length / workers.length);
	await Promise.all(
		workers.map((w, i) => {
			const mine = ids.slice(i * share, (i + 1) * share);
			return mine.length ? w.call('open', { ...target, executionIds: mine, parallel: 50, timeoutMs: p.timeoutMs }, p.timeoutMs + 10000) : undefined;
		})
	);
}
