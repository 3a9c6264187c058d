// Scenario "fanout": 1 execution × 200 WebSocket subscribers × 10,000 events, published over
// HTTP in batches. Starts the system's server and a separate load process (pinned to different
// cores when possible), and returns the load's measurements for one run.
import { fileURLToPath } from 'node:url';
import { spawnNode, stopChild } from '../lib/proc.js';

const loadScript = fileURLToPath(new URL('../load/fanout.js', import.meta.url));

export default {
	name: 'fanout',
	description: '1 execution × N WebSocket subscribers × E events, HTTP batches of B, K requests in flight',
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
