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

/**
 * Medians of an agentLoop result: the agent thread's CPU (falling back to the process's where the
 * platform has no per-thread figure), the process's CPU, the wall time.
 */
function loopFigures(loop, iterations) {
	const perThread = loop.withThreadCpuUs.every((x) => x !== undefined && x !== null);
	const without = perThread ? loop.withoutThreadCpuUs : loop.withoutCpuUs;
	const withC = perThread ? loop.withThreadCpuUs : loop.withCpuUs;
	// Each block with the client against the block just before it: the VM's speed drifts over
	// seconds, a pair of neighbouring blocks shares it.
	const pairedPct = (a, b) => median(a.map((x, k) => (b[k] / x - 1) * 100));
	const pairedUs = (a, b) => median(a.map((x, k) => (b[k] - x) / iterations));
	return {
		iterUsWithout: median(without) / iterations,
		iterUsWith: median(withC) / iterations,
		slowdownPct: pairedPct(without, withC),
		clientUsPerEvent: pairedUs(without, withC),
		processSlowdownPct: pairedPct(loop.withoutCpuUs, loop.withCpuUs),
		processUsPerEvent: pairedUs(loop.withoutCpuUs, loop.withCpuUs),
		wallSlowdownPct: pairedPct(loop.withoutWallUs, loop.withWallUs)
	};
}

export default {
	name: 'client',
	description: 'E output events through @runwatch/client (then close()) beside raw fetch batches; the agent loop slowed by one event per iteration',
	systems: ['runwatch'],
	notApplicable: { 'runwatch-sse': 'same ingest path as Runwatch', socketio: 'no storage', 'ws-broadcast': 'no storage', 'ws-broadcast-tick': 'no storage' },
	defaults: { events: 200000, batch: 500, inFlight: 4, payloadBytes: 80, iterations: 8000, blocks: 15, workBytes: 4096, timeoutMs: 300000 },
	quick: { events: 50000, iterations: 4000, blocks: 5 },
	metrics: [
		'clientPerSec', 'rawPerSec', 'clientVsRaw', 'clientLoopMs', 'clientMs', 'rawMs', 'clientServerCpuPct', 'rawServerCpuPct', 'clientLoadCpuPct', 'rawLoadCpuPct',
		'iterUsWithout', 'iterUsWith', 'slowdownPct', 'clientUsPerEvent', 'processSlowdownPct', 'processUsPerEvent', 'wallSlowdownPct', 'loopDropped', 'loopLost',
		'oneCoreSlowdownPct', 'oneCoreProcessSlowdownPct', 'oneCoreWallSlowdownPct', 'inThreadSlowdownPct', 'inThreadUsPerEvent', 'inThreadWallSlowdownPct'
	],

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

					const loopArgs = { baseUrl: server.baseUrl, token: server.token, iterations: p.iterations, blocks: p.blocks, workBytes: p.workBytes };
					// The agent's thread on the load core; its client's delivery thread free to use every
					// core (pinned runs), then confined to the load core too; then no delivery thread.
					const allCpus = ctx.pin.server === undefined ? undefined : [ctx.pin.server, ...(ctx.pin.loadCpus ?? [ctx.pin.load])].join(',');
					const loop = await agent.call('agentLoop', { ...loopArgs, deliveryCpus: allCpus }, p.timeoutMs);
					const oneCore = allCpus ? await agent.call('agentLoop', loopArgs, p.timeoutMs) : undefined;
					const inThread = await agent.call('agentLoop', { ...loopArgs, deliveryThread: false }, p.timeoutMs);
					const figures = loopFigures(loop, p.iterations);
					const oneCoreFigures = oneCore ? loopFigures(oneCore, p.iterations) : undefined;
					const inThreadFigures = loopFigures(inThread, p.iterations);
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
						...figures,
						oneCoreSlowdownPct: oneCoreFigures?.slowdownPct,
						oneCoreProcessSlowdownPct: oneCoreFigures?.processSlowdownPct,
						oneCoreWallSlowdownPct: oneCoreFigures?.wallSlowdownPct,
						inThreadSlowdownPct: inThreadFigures.processSlowdownPct,
						inThreadUsPerEvent: inThreadFigures.processUsPerEvent,
						inThreadWallSlowdownPct: inThreadFigures.wallSlowdownPct,
						loopDropped: [loop, oneCore, inThread].reduce((sum, x) => sum + (x?.dropped ?? 0), 0),
						loopLost: [loop, oneCore, inThread].reduce((sum, x) => sum + (x ? x.expectedLastSeq - x.lastSeq : 0), 0),
						headline: `client ${fmt(client.events / (client.elapsedMs / 1000))} ev/s  raw ${fmt(raw.events / (raw.elapsedMs / 1000))} ev/s  agent loop ${fmt(figures.slowdownPct, 1)} % (its thread's CPU; process ${fmt(figures.processSlowdownPct, 1)} %, in-thread delivery ${fmt(inThreadFigures.processSlowdownPct, 1)} %)`
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
			.flatMap((s) => [
				`agent loop (${fmt(params.iterations)} iterations × ${params.blocks} blocks each way, alternating; ~${fmt(params.workBytes)} B JSON.stringify + sha256 per iteration; median of the paired blocks): ` +
					`${fmt(s.median.iterUsWithout, 2)} µs of the agent thread's CPU per iteration without the client, ${fmt(s.median.iterUsWith, 2)} µs with one run.output() per iteration: ` +
					`**${fmt(s.median.slowdownPct, 1)} % slower** (${fmt(s.median.clientUsPerEvent, 2)} µs per event on the agent's thread; its client's delivery thread free to run on any core). ` +
					`The delivery thread's work (batching, JSON, HTTP) comes on top for the process: ${fmt(s.median.processSlowdownPct, 1)} % more CPU in all, ${fmt(s.median.processUsPerEvent, 2)} µs per event; wall time ${fmt(s.median.wallSlowdownPct, 1)} %. Dropped ${fmt(s.median.loopDropped)}, not stored ${fmt(s.median.loopLost)}.`,
				`the same loop with the whole process confined to the load core (the delivery thread takes its turns on the agent's core): agent thread ${fmt(s.median.oneCoreSlowdownPct, 1)} % slower, process CPU ${fmt(s.median.oneCoreProcessSlowdownPct, 1)} %, wall ${fmt(s.median.oneCoreWallSlowdownPct, 1)} %.`,
				`the same loop with \`deliveryThread: false\` (everything on the agent's thread): ${fmt(s.median.inThreadSlowdownPct, 1)} % slower, ${fmt(s.median.inThreadUsPerEvent, 2)} µs of CPU per event (wall ${fmt(s.median.inThreadWallSlowdownPct, 1)} %).`
			]);
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
			{
				target: "client: agent loop < 5 % slower with one event per iteration (the agent thread's CPU)",
				measured: `${fmt(m.slowdownPct, 1)} % (${fmt(m.clientUsPerEvent, 2)} µs per event; the whole process ${fmt(m.processSlowdownPct, 1)} %)`,
				pass: m.slowdownPct < 5
			}
		];
	}
};
