// Scenario "memory" (issue 5, scenario 3): server memory per idle connection.
//
// Method: the server runs with `--expose-gc --require bench/lib/gc-preload.cjs`; SIGUSR2 makes it
// run two full GCs. One execution is created and a warm-up of 200 subscribers connects, subscribes
// and disconnects (so code, pools and caches are in the baseline, not in the per-connection
// figure). Then: GC, settle, baseline RSS (VmRSS from /proc/<pid>/status); N subscribers connect
// and subscribe to the execution, and stay idle; settle, GC, settle, RSS again.
// Per connection = (RSS after − RSS before) ÷ N. RSS, not heap: it includes socket buffers and
// everything native (ws, http parser, TLS-free loopback sockets) that a viewer costs.
import { fileURLToPath } from 'node:url';
import { processRssKiB } from '../lib/proc.js';
import { fmt } from '../lib/table.js';
import { createExecution, openSubscribers, sleep, withServer, withWorkers } from '../lib/harness.js';

const gcPreload = fileURLToPath(new URL('../lib/gc-preload.cjs', import.meta.url));

async function gcAndRss(server, settleMs) {
	process.kill(server.pid, 'SIGUSR2');
	await sleep(settleMs);
	process.kill(server.pid, 'SIGUSR2');
	await sleep(settleMs);
	return processRssKiB(server.pid);
}

/** The JS heap in use (KiB) after the last forced GC, from the hook's `BENCH_GC` line. */
function lastHeapKiB(server) {
	const lines = server.output().match(/BENCH_GC rss=\d+ heapUsed=(\d+)/g) ?? [];
	const last = lines.at(-1)?.match(/heapUsed=(\d+)/);
	return last ? Number(last[1]) / 1024 : undefined;
}

export default {
	name: 'memory',
	description: 'N idle subscribed connections: server RSS per connection after GC',
	systems: ['runwatch', 'runwatch-sse', 'sse-loop', 'socketio', 'ws-broadcast', 'ws-broadcast-tick'],
	defaults: { connections: 5000, loadProcs: 2, settleMs: 1000, timeoutMs: 120000 },
	quick: { connections: 2000, settleMs: 500 },
	metrics: ['perConnKiB', 'heapPerConnKiB', 'baselineKiB', 'afterKiB', 'connections', 'openMs'],

	async run(system, ctx) {
		const p = ctx.params;
		return withServer(
			system,
			ctx,
			(server) =>
				withWorkers(p.loadProcs, ctx, async (workers) => {
					const executionId = await createExecution(server, 'bench-memory');
					await openSubscribers(workers, 200, { system, server, executionId, ctx });
					await Promise.all(workers.map((w) => w.call('close')));
					await sleep(p.settleMs);
					const baselineKiB = await gcAndRss(server, p.settleMs / 2);
					const heapBeforeKiB = lastHeapKiB(server);
					const opened = await openSubscribers(workers, p.connections, { system, server, executionId, ctx, timeoutMs: p.timeoutMs });
					await sleep(p.settleMs);
					const afterKiB = await gcAndRss(server, p.settleMs / 2);
					const heapAfterKiB = lastHeapKiB(server);
					if (!server.output().includes('BENCH_GC rss=')) throw new Error('the server did not run the GC hook (SIGUSR2)');
					return {
						connections: p.connections,
						openMs: Math.max(...opened.map((o) => o.openMs)),
						baselineKiB,
						afterKiB,
						perConnKiB: (afterKiB - baselineKiB) / p.connections,
						heapPerConnKiB: heapBeforeKiB !== undefined && heapAfterKiB !== undefined ? (heapAfterKiB - heapBeforeKiB) / p.connections : undefined
					};
				}),
			['--expose-gc', '--require', gcPreload]
		);
	},

	report(summary, params, runs) {
		const ws = summary.find((s) => s.system === 'ws-broadcast')?.median?.perConnKiB;
		const sse = summary.find((s) => s.system === 'sse-loop')?.median?.perConnKiB;
		const rows = summary.map((s) => {
			const m = s.median ?? {};
			return [
				s.label,
				fmt(m.perConnKiB, 1),
				fmt(m.heapPerConnKiB, 1),
				Number.isFinite(m.perConnKiB / ws) ? `${fmt(m.perConnKiB / ws, 2)}×` : '-',
				Number.isFinite(m.perConnKiB / sse) ? `${fmt(m.perConnKiB / sse, 2)}×` : '-',
				fmt(m.baselineKiB / 1024, 1),
				fmt(m.afterKiB / 1024, 1),
				fmt(m.openMs),
				`${s.completedRuns}/${runs}`
			];
		});
		return {
			title: `memory: ${fmt(params.connections)} idle connections, each subscribed to one execution; server RSS after GC (median of ${runs} run(s))`,
			headers: ['system', 'KiB per connection', 'of it JS heap', '÷ ws broadcast', '÷ SSE loop', 'RSS before MiB', 'RSS after MiB', 'connect ms', 'ok runs'],
			rows,
			notes: [
				'Method: RSS after two forced GCs (SIGUSR2 → gc() via --expose-gc), before and after the connections; warm-up of 200 connections first.',
				'Plain Node SSE loop: bench/systems/sse-loop.js (writeHead, a Set per execution, a 15 s heartbeat interval per response), the peer of Runwatch (SSE).'
			]
		};
	},

	targets(summary) {
		const targets = [];
		const s = summary.find((x) => x.system === 'runwatch');
		if (s?.median) targets.push({ target: `memory ${s.label}: ≤ 12 KiB per idle connection`, measured: `${fmt(s.median.perConnKiB, 1)} KiB`, pass: s.median.perConnKiB <= 12 });
		const sse = summary.find((x) => x.system === 'runwatch-sse')?.median?.perConnKiB;
		const loop = summary.find((x) => x.system === 'sse-loop')?.median?.perConnKiB;
		if (sse !== undefined && loop !== undefined) {
			targets.push({ target: 'memory Runwatch (SSE): ≤ the plain Node SSE loop per idle viewer', measured: `${fmt(sse, 1)} vs ${fmt(loop, 1)} KiB`, pass: sse <= loop });
		}
		return targets;
	}
};
