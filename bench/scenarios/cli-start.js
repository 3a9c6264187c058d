// Scenario "cli-start" (issue 8): time from spawning `runwatch run --name x -- node -e ""`
// (packages/client/dist/cli.cjs, the package's `bin`) to its `runwatch: watching at <url>` line on
// stderr, beside spawning `node -e "console.error('x')"` (the Node floor: the same process start
// and the same kind of first line), alternating, from a load process on the load core(s), with a
// production server to record into.
import { fileURLToPath } from 'node:url';
import { median } from '../lib/stats.js';
import { fmt } from '../lib/table.js';
import { withServer, withWorkers } from '../lib/harness.js';

const agentScript = fileURLToPath(new URL('../load/agent.js', import.meta.url));

const quantile = (xs, q) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};

export default {
	name: 'cli-start',
	description: 'spawn `runwatch run -- node -e ""` → its URL line on stderr, median of N, beside `node -e` (the floor)',
	systems: ['runwatch'],
	notApplicable: { 'runwatch-sse': 'no viewers involved', socketio: 'no command', 'ws-broadcast': 'no command', 'ws-broadcast-tick': 'no command' },
	defaults: { events: 15, timeoutMs: 300000 },
	quick: { events: 7 },
	metrics: ['cliMs', 'floorMs', 'overFloorMs', 'ratio', 'cliP90Ms', 'floorP90Ms', 'cliExitMs', 'floorExitMs'],

	async run(system, ctx) {
		const p = ctx.params;
		return withServer(system, ctx, (server) =>
			withWorkers(
				1,
				ctx,
				async ([agent]) => {
					// One pair first to warm the disk cache and the compile cache; not counted.
					await agent.call('spawnTimes', { baseUrl: server.baseUrl, token: server.token, runs: 1 }, p.timeoutMs);
					// `events` is the number of spawns of each (the shared knob).
					const { cli, floor } = await agent.call('spawnTimes', { baseUrl: server.baseUrl, token: server.token, runs: p.events }, p.timeoutMs);
					const cliMs = median(cli.map((x) => x.lineMs));
					const floorMs = median(floor.map((x) => x.lineMs));
					return {
						cliMs,
						floorMs,
						overFloorMs: cliMs - floorMs,
						ratio: cliMs / floorMs,
						cliP90Ms: quantile(cli.map((x) => x.lineMs), 0.9),
						floorP90Ms: quantile(floor.map((x) => x.lineMs), 0.9),
						cliExitMs: median(cli.map((x) => x.exitMs)),
						floorExitMs: median(floor.map((x) => x.exitMs)),
						headline: `URL line ${fmt(cliMs)} ms  node -e ${fmt(floorMs)} ms  (${fmt(cliMs / floorMs, 2)}×)`
					};
				},
				agentScript
			)
		);
	},

	report(summary, params, runs) {
		const s = summary.find((x) => x.system === 'runwatch');
		const m = s?.median ?? {};
		const ok = `${s?.completedRuns ?? 0}/${runs}`;
		return {
			title: `cli-start: spawn → first line on stderr, median (and p90) of ${params.events} alternating spawns each (median of ${runs} run(s))`,
			headers: ['command', 'to the line, ms', 'p90 ms', '÷ node -e', 'to exit, ms', 'ok runs'],
			rows: [
				['runwatch run --name x -- node -e ""', fmt(m.cliMs), fmt(m.cliP90Ms), fmt(m.ratio, 2) + '×', fmt(m.cliExitMs), ok],
				[`node -e "console.error('x')"`, fmt(m.floorMs), fmt(m.floorP90Ms), '1.00×', fmt(m.floorExitMs), ok]
			],
			notes: [
				'"to exit" for runwatch includes running the command, creating the execution on the server and the flush of its events; the URL line comes before any network.'
			]
		};
	},

	targets(summary) {
		const s = summary.find((x) => x.system === 'runwatch');
		if (!s?.median) return [];
		const m = s.median;
		return [{ target: 'cli-start: `runwatch run` URL line < 300 ms', measured: `${fmt(m.cliMs)} ms (node -e ${fmt(m.floorMs)} ms, ${m.overFloorMs < 0 ? '−' : '+'}${fmt(Math.abs(m.overFloorMs))} ms)`, pass: m.cliMs < 300 }];
	}
};
