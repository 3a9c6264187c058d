// Scenario "fanout200" (the earlier issue's benchmark, kept as it was): 1 execution × 200
// WebSocket subscribers × 10,000 events, published over HTTP in batches of 100. Starts the
// system's server and a separate load process (pinned to different cores when possible), and
// returns the load's measurements for one run.
import { fileURLToPath } from 'node:url';
import { spawnNode, stopChild } from '../lib/proc.js';
import { fmt } from '../lib/table.js';

const BASELINE = 'ws-broadcast';

const loadScript = fileURLToPath(new URL('../load/fanout200.js', import.meta.url));

export default {
	name: 'fanout200',
	description: '(earlier issue) 1 execution × N WebSocket subscribers × E events, HTTP batches of B, K requests in flight',
	systems: ['runwatch', 'ws-broadcast'],
	optionalSystems: ['ws-broadcast-batched'],
	defaults: {
		subscribers: 200,
		events: 10000,
		batch: 100,
		inFlight: 4,
		payloadBytes: 100,
		timeoutMs: 120000,
		warmupEvents: 2000,
		warmupSubscribers: 20
	},

	/** Numeric result keys whose medians are reported. */
	metrics: [
		'deliveredPerSec',
		'elapsedMs',
		'publishMs',
		'ingestPerSec',
		'lost',
		'duplicated',
		'outOfOrder',
		'unexpected',
		'frames',
		'serverCpuSec',
		'serverCpuPct',
		'loadCpuSec',
		'loadCpuPct',
		'deliveredPerServerCpuSec',
		'firstSubscriberDoneMs',
		'lastSubscriberDoneMs'
	],

	/** The table of this scenario. */
	report(summary, params, runs) {
		const base = summary.find((s) => s.system === BASELINE)?.median?.deliveredPerSec;
		const rows = summary.map((s) => {
			const m = s.median ?? {};
			const w = s.worst ?? {};
			const ratio = m.deliveredPerSec / base;
			return [
				s.label,
				fmt(m.deliveredPerSec),
				Number.isFinite(ratio) ? `${fmt(ratio, 2)}×` : '-',
				fmt(m.elapsedMs),
				fmt(m.ingestPerSec),
				fmt(m.serverCpuPct),
				fmt(m.loadCpuPct),
				fmt(m.deliveredPerServerCpuSec),
				fmt(m.frames),
				`${fmt(w.lost)} / ${fmt(w.duplicated)} / ${fmt(w.outOfOrder)}`,
				`${s.completedRuns - s.timedOutRuns}/${runs}`
			];
		});
		return {
			title: `fanout200: ${params.subscribers} subscribers × ${fmt(params.events)} events, batches of ${params.batch} (median of ${runs} run(s))`,
			headers: [
				'system',
				'delivered events/s',
				`÷ ${BASELINE}`,
				'time ms',
				'ingest events/s',
				'server CPU %',
				'load CPU %',
				'delivered / server CPU-s',
				'frames recv',
				'lost / dup / out-of-order (worst run)',
				'ok runs'
			],
			rows,
			notes: summary
				.filter((s) => s.median?.loadCpuPct >= 90)
				.map((s) => `${s.label}: the load process was saturated (${fmt(s.median.loadCpuPct)} % of a core); its delivered events/s is a lower bound of the server's capacity.`)
		};
	},

	/** One run against a freshly started server of `system`. */
	async run(system, { params, pin, serverNodeArgs = [], loadNodeArgs = [], echo = false }) {
		const server = await system.start({ cpu: pin.server, nodeArgs: serverNodeArgs, echo });
		let load;
		try {
			const config = { ...params, baseUrl: server.baseUrl, wsUrl: server.wsUrl, token: server.token, serverPid: server.pid };
			load = spawnNode([loadScript, JSON.stringify(config)], { cpu: pin.load, label: 'load', echo, nodeArgs: loadNodeArgs });
			const limit = params.timeoutMs + 60000;
			const code = await new Promise((resolve) => {
				const timer = setTimeout(() => {
					load.child.kill('SIGKILL');
					resolve('timeout');
				}, limit);
				load.child.once('exit', (c) => {
					clearTimeout(timer);
					resolve(c);
				});
			});
			const line = load
				.output()
				.split('\n')
				.find((l) => l.startsWith('BENCH_RESULT '));
			if (code !== 0 || !line) {
				throw new Error(`load process failed (exit ${code}):\n${load.output().slice(-3000)}\n--- server output ---\n${server.output().slice(-3000)}`);
			}
			return JSON.parse(line.slice('BENCH_RESULT '.length));
		} finally {
			if (load) await stopChild(load.child, 2000);
			await server.stop();
		}
	}
};
