// Scenario "client" (issue 8): events/s through the TypeScript client (@runwatch/client, built to
// packages/client/dist) into one production server, beside the same events posted by hand (fetch,
// batches of 500, 4 in flight) in the same run; and how much the client slows the agent's own
// loop (a fixed amount of CPU work per iteration, with and without one event per iteration,
// alternating blocks in one process). The agent runs in a load process on the load core(s).
import { fileURLToPath } from 'node:url';
import { median } from '../lib/stats.js';
import { fmt } from '../lib/table.js';
import { cpuBetween, cpuSnapshot, withServer, withWorkers } from '../lib/harness.js';

const agentScript = fileURLToPath(new URL('../load/agent.js', import.meta.url));

export default {
	name: 'client',
	description: 'E output events through @runwatch/client (then close()) beside raw fetch batches; the agent loop slowed by one event per iteration',
	systems: ['runwatch'],
	notApplicable: { 'runwatch-sse': 'same ingest path as Runwatch', socketio: 'no storage', 'ws-broadcast': 'no storage', 'ws-broadcast-tick': 'no storage' },
	defaults: { events: 200000, batch: 500, inFlight: 4, payloadBytes: 80, iterations: 8000, blocks: 7, workBytes: 4096, timeoutMs: 300000 },
	quick: { events: 50000, iterations: 4000, blocks: 3 },
	metrics: ['clientPerSec', 'rawPerSec', 'clientVsRaw', 'clientLoopMs', 'clientMs', 'rawMs', 'clientServerCpuPct', 'rawServerCpuPct', 'clientLoadCpuPct', 'rawLoadCpuPct', 'iterUsWithout', 'iterUsWith', 'slowdownPct', 'clientUsPerEvent', 'wallSlowdownPct', 'loopDropped', 'loopLost'],

	async run(system, ctx) {
		const p = ctx.params;
		return withServer(system, ctx, (server) =>
			withWorkers(
				1,
				ctx,
				async ([agent]) => {
					const common = { baseUrl: server.baseUrl, token: server.token, textBytes: p.payloadBytes };
					// Warm-up of the server and of both senders.
					await agent.call('clientIngest', { ...common, total: Math.min(10000, p.events), batch: p.batch }, p.timeoutMs);
					await agent.call('rawIngest', { ...common, total: Math.min(10000, p.events), batch: p.batch, inFlight: p.inFlight }, p.timeoutMs);

					const c0 = await cpuSnapshot(server, [agent]);
					const client = await agent.call('clientIngest', { ...common, total: p.events, batch: p.batch }, p.timeoutMs);
					const c1 = await cpuSnapshot(server, [agent]);
					const raw = await agent.call('rawIngest', { ...common, total: p.events, batch: p.batch, inFlight: p.inFlight }, p.timeoutMs);
					const c2 = await cpuSnapshot(server, [agent]);
					if (client.lastSeq !== client.expectedLastSeq || client.dropped || client.failed) {
						throw new Error(`client: lastSeq ${client.lastSeq} of ${client.expectedLastSeq}, dropped ${client.dropped}, failed ${client.failed} ${client.errors.join('; ')}`);
					}
					if (raw.lastSeq !== raw.expectedLastSeq) throw new Error(`raw: lastSeq ${raw.lastSeq} of ${raw.expectedLastSeq}`);

					const loop = await agent.call('agentLoop', { baseUrl: server.baseUrl, token: server.token, iterations: p.iterations, blocks: p.blocks, workBytes: p.workBytes }, p.timeoutMs);
					const without = median(loop.withoutCpuUs);
					const withC = median(loop.withCpuUs);
					const wallWithout = median(loop.withoutWallUs);
					const wallWith = median(loop.withWallUs);
					const cpuClient = cpuBetween(c0, c1);
					const cpuRaw = cpuBetween(c1, c2);
					return {
						clientPerSec: client.events / (client.elapsedMs / 1000),
						rawPerSec: raw.events / (raw.elapsedMs / 1000),
						clientVsRaw: client.elapsedMs ? raw.elapsedMs / client.elapsedMs : undefined,
						clientLoopMs: client.loopMs,
						clientMs: client.elapsedMs,
						rawMs: raw.elapsedMs,
						clientServerCpuPct: cpuClient.serverCpuPct,
						rawServerCpuPct: cpuRaw.serverCpuPct,
						clientLoadCpuPct: cpuClient.loadCpuPct,
						rawLoadCpuPct: cpuRaw.loadCpuPct,
						iterUsWithout: without / p.iterations,
						iterUsWith: withC / p.iterations,
						slowdownPct: (withC / without - 1) * 100,
						clientUsPerEvent: (withC - without) / p.iterations,
						wallSlowdownPct: (wallWith / wallWithout - 1) * 100,
						loopDropped: loop.dropped,
						loopLost: loop.expectedLastSeq - loop.lastSeq,
						headline: `client ${fmt(client.events / (client.elapsedMs / 1000))} ev/s  raw ${fmt(raw.events / (raw.elapsedMs / 1000))} ev/s  loop ${fmt((withC / without - 1) * 100, 1)} % CPU (${fmt(without / p.iterations, 1)} → ${fmt(withC / p.iterations, 1)} µs/iteration)`
					};
				},
				agentScript
			)
		);
	},

	report(summary, params, runs) {
		const rows = [];
		for (const s of summary) {
			if (s.notApplicable) continue;
			const m = s.median ?? {};
			rows.push([
				`${s.label}: @runwatch/client`,
				fmt(m.clientPerSec),
				fmt(m.clientVsRaw, 2) + '×',
				fmt(m.clientMs),
				`${fmt(m.clientLoopMs)} ms loop`,
				fmt(m.clientServerCpuPct),
				fmt(m.clientLoadCpuPct),
				`${s.completedRuns}/${runs}`
			]);
			rows.push([`${s.label}: raw fetch, ${params.inFlight} in flight`, fmt(m.rawPerSec), '1.00×', fmt(m.rawMs), '-', fmt(m.rawServerCpuPct), fmt(m.rawLoadCpuPct), `${s.completedRuns}/${runs}`]);
		}
		const loops = summary
			.filter((s) => s.median)
			.map(
				(s) =>
					`agent loop (${fmt(params.iterations)} iterations × ${params.blocks} blocks each way, alternating; ~${fmt(params.workBytes)} B JSON.stringify + sha256 per iteration; median block, CPU time of the agent process): ` +
					`${fmt(s.median.iterUsWithout, 2)} µs/iteration without the client, ${fmt(s.median.iterUsWith, 2)} µs with one run.output() per iteration (its sending and flush included): ` +
					`${fmt(s.median.slowdownPct, 1)} % slower, ${fmt(s.median.clientUsPerEvent, 2)} µs of CPU per event (wall time: ${fmt(s.median.wallSlowdownPct, 1)} %; dropped ${fmt(s.median.loopDropped)}, not stored ${fmt(s.median.loopLost)}). ` +
					`At that cost per event, a loop is slowed < 5 % when its own work per event is over ${fmt(s.median.clientUsPerEvent * 20)} µs of CPU.`
			);
		return {
			title: `client: ${fmt(params.events)} output events of ~${params.payloadBytes} B from one agent loop through @runwatch/client (batches of ${params.batch}, one request in flight per execution, then close()) beside the same events posted with fetch (batches of ${params.batch}, ${params.inFlight} in flight) (median of ${runs} run(s))`,
			headers: ['sender', 'committed events/s', '÷ raw fetch', 'time ms', 'agent loop alone', 'server CPU %', 'load CPU %', 'ok runs'],
			rows,
			notes: loops
		};
	},

	targets(summary) {
		const s = summary.find((x) => x.system === 'runwatch');
		if (!s?.median) return [];
		const m = s.median;
		return [
			{ target: 'client: ≥ 50,000 events/s through @runwatch/client', measured: `${fmt(m.clientPerSec)} events/s (${fmt(m.clientVsRaw, 2)}× raw fetch, ${fmt(m.rawPerSec)})`, pass: m.clientPerSec >= 50000 },
			{ target: 'client: agent loop < 5 % slower with one event per iteration', measured: `${fmt(m.slowdownPct, 1)} % (${fmt(m.clientUsPerEvent, 2)} µs per event)`, pass: m.slowdownPct < 5 }
		];
	}
};
