// Scenario "cluster" (issue 11, "Figures"; only when named: it needs PostgreSQL and redis-server):
// three nodes on PostgreSQL + Redis beside one node on SQLite, same machine, same load, one run.
//
// 1. ingest: S streams (one load process each) post batches of B events, K in flight, into an
//    execution of their own, each answered after its commit; stream i goes to node i mod nodes.
//    Committed events/s over all streams, and the CPU seconds of the nodes, of PostgreSQL (the
//    backends of the bench database and the server's background processes, from /proc/<pid>/stat)
//    and of Redis in that window: which of them ran out first says what limits it.
// 2. delivery: N viewers (WebSocket) on one execution, spread over the nodes (viewer process i on
//    node i mod nodes), R events/s posted one per request to node 0 for D seconds after a warm-up:
//    POST → receipt p50 / p99 / max over every delivery, and over the viewers on other nodes than
//    the one posted to (cross-node); loss, duplicates, order.
// 3. Redis restart (cluster only): Redis is killed, E events are posted to node 0 (acknowledged:
//    committed) while it is down, nothing after; Redis is started again. Time from its first PONG
//    until every viewer holds every event (the nodes heal from PostgreSQL).
// Also measured for docs/scaling.md: Redis bytes in and out per event of phase 2, PostgreSQL
// commits and rows per ingest batch, connections each node holds.
import { fmt } from '../lib/table.js';
import { processCpu } from '../lib/proc.js';
import { createExecution, mergeExpect, openSubscribers, percentiles, sleep, withServer, withWorkers } from '../lib/harness.js';

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

async function cpuOf(server, nodes, workers) {
	const service = server.serviceCpu ? await server.serviceCpu() : undefined;
	const loads = await Promise.all(workers.map((w) => w.call('cpu', {}, 10000)));
	return {
		at: performance.now(),
		nodes: nodes.reduce((a, n) => a + (processCpu(n.pid)?.total ?? 0), 0),
		service,
		load: loads.reduce((a, x) => a + x.cpuSec, 0)
	};
}

/** % of one core used between two cpuOf() snapshots, per side. */
function cpuPct(a, b) {
	const wall = (b.at - a.at) / 1000;
	const pct = (sec) => (sec / wall) * 100;
	const out = { wallSec: wall, nodesCpuPct: pct(b.nodes - a.nodes), loadCpuPct: pct(b.load - a.load) };
	if (a.service && b.service) {
		// A backend that appeared during the window used all of its CPU in it.
		let pg = 0;
		for (const [pid, total] of b.service.pg) pg += total - (a.service.pg.get(pid) ?? 0);
		out.pgCpuPct = pct(pg);
		if (a.service.redis !== undefined && b.service.redis !== undefined) out.redisCpuPct = pct(b.service.redis - a.service.redis);
	}
	return out;
}

export default {
	name: 'cluster',
	description: '3 nodes on PostgreSQL + Redis vs 1 node on SQLite: ingest spread over the nodes, cross-node delivery p99, viewers whole after Redis restarts',
	systems: ['runwatch', 'runwatch-cluster'],
	defaults: {
		loadProcs: 3,
		events: 150000,
		batch: 100,
		inFlight: 8,
		payloadBytes: 100,
		warmupEvents: 3000,
		subscribers: 1000,
		rate: 100,
		durationMs: 10000,
		warmupMs: 1000,
		downEvents: 50,
		timeoutMs: 120000
	},
	quick: { events: 60000, durationMs: 3000, warmupMs: 500, warmupEvents: 1000 },
	metrics: [
		'eventsPerSec',
		'ingestMs',
		'nodesCpuPct',
		'pgCpuPct',
		'redisCpuPct',
		'ingestLoadCpuPct',
		'nodeCpuUsPerEvent',
		'pgCpuUsPerEvent',
		'redisCpuUsPerEvent',
		'commitsPerBatch',
		'pgConnectionsPerNode',
		'rowsPerBatch',
		'redisClientsPerNode',
		'p50Ms',
		'p99Ms',
		'maxMs',
		'crossP99Ms',
		'samples',
		'latencyNodesCpuPct',
		'latencyLoadCpuPct',
		'redisInBytesPerEvent',
		'redisOutBytesPerEvent',
		'wholeAfterRedisMs',
		'lost',
		'duplicated',
		'outOfOrder',
		'unexpected'
	],

	async run(system, ctx) {
		const p = ctx.params;
		return withServer(system, ctx, (server) =>
			withWorkers(p.loadProcs + 1, ctx, async (workers) => {
				const nodes = server.nodes ?? [server];
				const publisher = workers[0];
				const streams = workers.slice(1);
				const nodeOf = (i) => nodes[i % nodes.length];
				const out = {};

				// ---------------------------------------------------------------- 1. ingest
				const ingestArgs = (node) => ({ baseUrl: node.baseUrl, token: node.token, batch: p.batch, inFlight: p.inFlight, payloadBytes: p.payloadBytes });
				if (p.warmupEvents > 0) {
					await Promise.all(
						streams.map(async (w, i) => {
							const id = await createExecution(nodeOf(i), `bench-cluster-warmup-${i}`);
							await w.call('ingest', { ...ingestArgs(nodeOf(i)), executionId: id, total: p.warmupEvents, prefix: 'w' }, p.timeoutMs + 10000);
						})
					);
				}
				const perStream = Math.floor(p.events / streams.length);
				const ids = await Promise.all(streams.map((_, i) => createExecution(nodeOf(i), `bench-cluster-ingest-${i}`)));
				const pg0 = server.pgStats ? await server.pgStats() : undefined;
				const c0 = await cpuOf(server, nodes, streams);
				const t0 = nowUs();
				const results = await Promise.all(
					streams.map((w, i) =>
						w.call('ingest', { ...ingestArgs(nodeOf(i)), executionId: ids[i], total: perStream, timeoutMs: p.timeoutMs }, p.timeoutMs + 10000)
					)
				);
				const t1 = nowUs();
				const c1 = await cpuOf(server, nodes, streams);
				const pg1 = server.pgStats ? await server.pgStats() : undefined;
				for (const [i, r] of results.entries()) {
					if (r.accepted !== perStream || r.lastSeq !== perStream) throw new Error(`stream ${i}: committed ${r.accepted} (lastSeq ${r.lastSeq}) of ${perStream}`);
				}
				const committed = perStream * streams.length;
				const ingestCpu = cpuPct(c0, c1);
				Object.assign(out, {
					events: committed,
					ingestMs: (t1 - t0) / 1000,
					eventsPerSec: committed / ((t1 - t0) / 1e6),
					nodesCpuPct: ingestCpu.nodesCpuPct,
					pgCpuPct: ingestCpu.pgCpuPct,
					redisCpuPct: ingestCpu.redisCpuPct,
					ingestLoadCpuPct: ingestCpu.loadCpuPct
				});
				// CPU time per event: what each part costs, steadier than events/s on a shared machine.
				const usPerEvent = (pctOfCore) => (pctOfCore === undefined ? undefined : ((pctOfCore / 100) * ingestCpu.wallSec * 1e6) / committed);
				out.nodeCpuUsPerEvent = usPerEvent(ingestCpu.nodesCpuPct);
				out.pgCpuUsPerEvent = usPerEvent(ingestCpu.pgCpuPct);
				out.redisCpuUsPerEvent = usPerEvent(ingestCpu.redisCpuPct);
				if (pg0 && pg1) {
					const batches = results.reduce((a, r) => a + r.requests, 0);
					out.commitsPerBatch = (pg1.commits - pg0.commits) / batches;
					out.rowsPerBatch = (pg1.inserted + pg1.updated - pg0.inserted - pg0.updated) / batches;
					out.pgConnectionsPerNode = pg1.connections / nodes.length;
				}

				// ---------------------------------------------------------------- 2. delivery
				const executionId = await createExecution(nodes[0], 'bench-cluster-latency');
				const counts = streams.map((_, i) => Math.floor(p.subscribers / streams.length) + (i < p.subscribers % streams.length ? 1 : 0));
				await Promise.all(
					streams.map((w, i) => openSubscribers([w], counts[i], { system, server: nodeOf(i), executionId, ctx, latency: true, skip: p.payloadBytes }))
				);
				const pub = { baseUrl: nodes[0].baseUrl, token: nodes[0].token, executionId, inFlight: 32, payloadBytes: p.payloadBytes, mode: 'rate', rate: p.rate };
				const expectAll = (total, graceMs) =>
					Promise.all(streams.map((w) => w.call('expect', { total, timeoutMs: p.timeoutMs, graceMs }, p.timeoutMs + 10000)));
				let warm = 0;
				if (p.warmupMs > 0) {
					const w = await publisher.call('publish', { ...pub, stamp: true, durationMs: p.warmupMs, prefix: 'w' }, p.warmupMs + p.timeoutMs);
					warm = w.lastSeq;
					await expectAll(warm, 50);
					await Promise.all(streams.map((s) => s.call('resetLatency')));
					await sleep(100);
				}
				const r0 = server.redis ? await server.redis.info() : undefined;
				const l0 = await cpuOf(server, nodes, workers);
				const sent = await publisher.call('publish', { ...pub, stamp: true, durationMs: p.durationMs }, p.durationMs + p.timeoutMs);
				if (sent.errors.length) throw new Error(`publish errors: ${sent.errors.join('; ')}`);
				let total = sent.lastSeq;
				const perWorker = await expectAll(total, 300);
				const l1 = await cpuOf(server, nodes, workers);
				const r1 = server.redis ? await server.redis.info() : undefined;
				const got = mergeExpect(perWorker);
				const timed = total - warm;
				const lat = got.latency ?? {};
				const latencyCpu = cpuPct(l0, l1);
				Object.assign(out, { samples: lat.samples, p50Ms: lat.p50Ms, p99Ms: lat.p99Ms, maxMs: lat.maxMs, latencyNodesCpuPct: latencyCpu.nodesCpuPct, latencyLoadCpuPct: latencyCpu.loadCpuPct });
				if (nodes.length > 1) {
					// Viewer processes on other nodes than node 0, which took the POSTs.
					const cross = perWorker.filter((_, i) => i % nodes.length !== 0).map((x) => x.latency).filter(Boolean);
					if (cross.length) out.crossP99Ms = percentiles(cross).p99Ms;
				}
				if (r0 && r1) {
					out.redisInBytesPerEvent = (r1.total_net_input_bytes - r0.total_net_input_bytes) / timed;
					out.redisOutBytesPerEvent = (r1.total_net_output_bytes - r0.total_net_output_bytes) / timed;
					out.redisClientsPerNode = r1.connected_clients / nodes.length;
				}
				let worst = got;

				// ---------------------------------------------------------------- 3. Redis restart
				if (server.redis) {
					await server.redis.stop();
					const down = await publisher.call('publish', { ...pub, mode: 'burst', inFlight: 1, count: p.downEvents, durationMs: p.timeoutMs, prefix: 'd' }, p.timeoutMs);
					if (down.errors.length || down.accepted !== p.downEvents) throw new Error(`while Redis was down: ${down.accepted} of ${p.downEvents} accepted; ${down.errors.join('; ')}`);
					total = down.lastSeq;
					// Long enough for every node to see the connection gone and back off.
					await sleep(500);
					const back = await server.redis.start();
					const healed = mergeExpect(await expectAll(total, 300));
					if (healed.timedOut) throw new Error(`viewers not whole ${p.timeoutMs} ms after Redis came back: ${healed.lost} deliveries missing`);
					out.wholeAfterRedisMs = Math.max(0, (healed.lastDoneAt - back) / 1000);
					worst = healed;
				}
				Object.assign(out, {
					subscribers: worst.subscribers,
					lost: worst.lost,
					duplicated: worst.duplicated,
					outOfOrder: worst.outOfOrder,
					unexpected: worst.unexpected,
					timedOut: got.timedOut || worst.timedOut,
					headline: [
						out.crossP99Ms !== undefined ? `cross-node p99 ${fmt(out.crossP99Ms, 1)} ms` : undefined,
						out.wholeAfterRedisMs !== undefined ? `whole after Redis ${fmt(out.wholeAfterRedisMs)} ms` : undefined
					]
						.filter(Boolean)
						.join('  ')
				});
				return out;
			})
		);
	},

	report(summary, params, runs) {
		const rows = summary.map((s) => {
			const m = s.median ?? {};
			const w = s.worst ?? {};
			return [
				s.label,
				fmt(m.eventsPerSec),
				fmt(m.nodesCpuPct),
				fmt(m.pgCpuPct),
				fmt(m.redisCpuPct),
				`${fmt(m.nodeCpuUsPerEvent, 1)} / ${fmt(m.pgCpuUsPerEvent, 1)} / ${fmt(m.redisCpuUsPerEvent, 1)}`,
				fmt(m.ingestLoadCpuPct),
				fmt(m.p50Ms, 1),
				fmt(m.p99Ms, 1),
				fmt(m.crossP99Ms, 1),
				fmt(m.maxMs, 1),
				fmt(m.wholeAfterRedisMs),
				s.median ? `${fmt(w.lost)} / ${fmt(w.duplicated)} / ${fmt(w.outOfOrder)}` : '-',
				`${s.completedRuns - s.timedOutRuns}/${runs}`
			];
		});
		const cluster = summary.find((s) => s.system === 'runwatch-cluster')?.median;
		const notes = [
			`ingest: ${params.loadProcs} load processes × ${params.inFlight} requests in flight, each into its own execution (process i on node i mod nodes); CPU % is of one core, summed over the nodes / PostgreSQL processes / redis-server. The nodes share one core (the server core); PostgreSQL and Redis are not pinned.`,
			`delivery: ${fmt(params.subscribers)} WebSocket viewers of one execution, spread over the nodes, ${params.rate} events/s posted to node 0 for ${fmt(params.durationMs / 1000)} s; "cross-node" = viewers on the other nodes.`,
			`Redis restart: killed, ${params.downEvents} events committed on node 0 while it is down and none after, started again; time from its first PONG until every viewer holds every event.`
		];
		if (cluster) {
			notes.push(
				`cluster cost: ${fmt(cluster.commitsPerBatch, 2)} PostgreSQL commits and ${fmt(cluster.rowsPerBatch ?? NaN, 0)} rows written per batch of ${params.batch}; ${fmt(cluster.pgConnectionsPerNode, 1)} PostgreSQL connections per node after ingest; Redis ${fmt(cluster.redisInBytesPerEvent)} bytes in and ${fmt(cluster.redisOutBytesPerEvent)} bytes out per event posted (one event per POST, 3 subscribed nodes).`
			);
		}
		return {
			title: `cluster: 3 nodes on PostgreSQL + Redis vs 1 node on SQLite, ${fmt(params.events)} events in batches of ${params.batch}; ${fmt(params.subscribers)} viewers × ${params.rate} events/s (median of ${runs} run(s))`,
			headers: ['system', 'ingest events/s', 'nodes CPU %', 'PG CPU %', 'Redis CPU %', 'CPU µs/event nodes / PG / Redis', 'load CPU %', 'p50 ms', 'p99 ms', 'cross-node p99 ms', 'max ms', 'whole after Redis ms', 'lost / dup / ooo (worst)', 'ok runs'],
			rows,
			notes
		};
	},

	targets(summary) {
		const c = summary.find((x) => x.system === 'runwatch-cluster');
		const one = summary.find((x) => x.system === 'runwatch');
		if (!c?.median) return [];
		const m = c.median;
		const w = c.worst;
		const ratio = one?.median ? ` (${(m.eventsPerSec / one.median.eventsPerSec).toFixed(2)}× 1 node on SQLite)` : '';
		const limit =
			m.pgCpuPct !== undefined
				? `; CPU µs/event: nodes ${fmt(m.nodeCpuUsPerEvent, 1)}, PostgreSQL ${fmt(m.pgCpuUsPerEvent, 1)}`
				: '';
		return [
			{ target: `cluster ingest into PostgreSQL, 3 nodes: ≥ 30,000 events/s`, measured: `${fmt(m.eventsPerSec)} events/s${ratio}${limit}`, pass: m.eventsPerSec >= 30000 },
			{ target: `cluster cross-node delivery, 1,000 viewers × 100 events/s: p99 < 100 ms`, measured: `${fmt(m.crossP99Ms, 1)} ms (all viewers ${fmt(m.p99Ms, 1)} ms)`, pass: m.crossP99Ms < 100 },
			{ target: `cluster delivery: no loss`, measured: `${w.lost} lost / ${w.duplicated} dup / ${w.outOfOrder} ooo`, pass: !w.lost && !w.duplicated && !w.outOfOrder && !w.unexpected },
			{ target: `cluster: every viewer whole < 2 s after Redis comes back`, measured: `${fmt(m.wholeAfterRedisMs)} ms`, pass: m.wholeAfterRedisMs < 2000 }
		];
	}
};
