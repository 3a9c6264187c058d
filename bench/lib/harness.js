// What every issue-5 scenario does around its measurement: start the system's server (pinned to
// the server core), start load workers (pinned to the load cores), create executions, and tear it
// all down again however the run ends.
import { processCpu } from './proc.js';
import { startWorkers } from './workers.js';

/** Starts the server (with `env` added to its environment), runs fn(server), stops the server. */
export async function withServer(system, ctx, fn, extraNodeArgs = [], env = {}) {
	const server = await system.start({ cpu: ctx.pin.server, nodeArgs: [...extraNodeArgs, ...ctx.serverNodeArgs], echo: ctx.echo, env });
	try {
		return await fn(server);
	} catch (error) {
		const tail = server.output().split('\n').filter((l) => !l.startsWith('BENCH_GC')).join('\n').slice(-1500);
		throw new Error(`${error?.message ?? error}\n--- server output (tail) ---\n${tail}`);
	} finally {
		await server.stop();
	}
}

/** Starts `count` load workers (bench/load/worker.js, or `script`) on the load cores, runs fn(workers), stops them. */
export async function withWorkers(count, ctx, fn, script) {
	const workers = await startWorkers(count, { cpus: ctx.pin.loadCpus ?? [ctx.pin.load], nodeArgs: ctx.loadNodeArgs, echo: ctx.echo, ...(script ? { script } : {}) });
	try {
		return await fn(workers);
	} finally {
		await Promise.all(workers.map((w) => w.call('close', {}, 10000).catch(() => {})));
		await Promise.all(workers.map((w) => w.stop()));
	}
}

export async function createExecution(server, name) {
	const res = await fetch(`${server.baseUrl}/api/executions`, {
		method: 'POST',
		headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
		body: JSON.stringify({ agent: { name } }),
		signal: AbortSignal.timeout(10000)
	});
	const body = await res.json();
	if (res.status !== 201 && res.status !== 200) throw new Error(`create execution: ${res.status} ${JSON.stringify(body)}`);
	return body.id;
}

/** How a subscriber of `system` connects: { kind, url } for bench/load/worker.js `open`. */
export function subscriberTarget(system, server, executionId, ctx) {
	if (system.kind === 'ws') return { kind: 'ws', url: server.wsUrl };
	if (system.kind === 'sse') return { kind: 'sse', url: `${server.baseUrl}/api/executions/${encodeURIComponent(executionId)}/stream` };
	if (system.kind === 'sio') return { kind: ctx.sioClient === 'official' ? 'sio-client' : 'sio', url: server.baseUrl };
	throw new Error(`unknown system kind ${system.kind}`);
}

/** Opens `total` subscribers spread over `workers`, all at once. */
export async function openSubscribers(workers, total, { system, server, executionId, ctx, latency = false, skip = 0, timeoutMs = 120000 }) {
	const target = subscriberTarget(system, server, executionId, ctx);
	const counts = workers.map((_, i) => Math.floor(total / workers.length) + (i < total % workers.length ? 1 : 0));
	const parallel = Math.max(10, Math.ceil(50 / workers.length));
	const results = await Promise.all(
		workers.map((w, i) =>
			counts[i] > 0 ? w.call('open', { ...target, executionId, count: counts[i], latency, skip, parallel, timeoutMs }, timeoutMs + 10000) : undefined
		)
	);
	return results.filter(Boolean);
}

/** CPU seconds of the server process and of the workers, for a window's start and end. */
export async function cpuSnapshot(server, workers) {
	const s = processCpu(server.pid);
	const loads = await Promise.all(workers.map((w) => w.call('cpu', {}, 10000)));
	return { at: performance.now(), server: s?.total, load: loads.reduce((a, x) => a + x.cpuSec, 0) };
}

/** { serverCpuSec, serverCpuPct, loadCpuSec, loadCpuPct } between two snapshots (% of one core). */
export function cpuBetween(a, b) {
	const wall = (b.at - a.at) / 1000;
	const serverCpuSec = a.server !== undefined && b.server !== undefined ? b.server - a.server : undefined;
	const loadCpuSec = b.load - a.load;
	return {
		serverCpuSec,
		serverCpuPct: serverCpuSec !== undefined ? (serverCpuSec / wall) * 100 : undefined,
		loadCpuSec,
		loadCpuPct: (loadCpuSec / wall) * 100
	};
}

/** Sums the `expect` answers of several workers. */
export function mergeExpect(list) {
	const sum = (k) => list.reduce((a, x) => a + (x[k] ?? 0), 0);
	const out = {
		subscribers: sum('subscribers'),
		timedOut: list.some((x) => x.timedOut),
		lastDoneAt: Math.max(...list.map((x) => x.lastDoneAt)),
		delivered: sum('delivered'),
		lost: sum('lost'),
		duplicated: sum('duplicated'),
		outOfOrder: sum('outOfOrder'),
		unexpected: sum('unexpected'),
		frames: sum('frames'),
		errors: list.flatMap((x) => x.errors ?? []).slice(0, 5)
	};
	const hists = list.map((x) => x.latency).filter(Boolean);
	if (hists.length) out.latency = percentiles(hists);
	return out;
}

/** p50 / p99 / max (ms) of merged sparse histograms from the workers. */
export function percentiles(hists) {
	const bucketUs = hists[0].bucketUs;
	const counts = new Map();
	let n = 0;
	let maxUs = 0;
	for (const h of hists) {
		n += h.n;
		maxUs = Math.max(maxUs, h.maxUs);
		for (const [b, c] of h.sparse) counts.set(b, (counts.get(b) ?? 0) + c);
	}
	const buckets = [...counts].sort((x, y) => x[0] - y[0]);
	const at = (q) => {
		const rank = Math.ceil(q * n);
		let acc = 0;
		for (const [b, c] of buckets) {
			acc += c;
			// the bucket's upper edge: a conservative figure
			if (acc >= rank) return Math.min(((b + 1) * bucketUs) / 1000, maxUs / 1000);
		}
		return maxUs / 1000;
	};
	return { samples: n, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: maxUs / 1000 };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
