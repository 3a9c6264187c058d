// A load process that plays an agent (bench/scenarios/client.js and cli-start.js drive it over
// IPC; never run by hand):
//   clientIngest  an agent loop calling `run.output()` through @runwatch/client as fast as it can
//   rawIngest     the same events posted by hand: fetch, batches, K requests in flight (the peer)
//   agentLoop     a loop doing fixed CPU work per iteration, alternately without and with the
//                 client emitting one event per iteration: the agent's own slowdown
//   spawnTimes    spawn `runwatch run -- node -e ""` and the bare `node -e`: time to the first
//                 line on stderr
// It needs the built client (`npm run build:client` → packages/client/dist).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assertLoopback, nowUs, serve } from './ipc.js';

const clientDist = fileURLToPath(new URL('../../packages/client/dist/index.js', import.meta.url));
const cliPath = fileURLToPath(new URL('../../packages/client/dist/cli.cjs', import.meta.url));

async function loadClient() {
	if (!existsSync(clientDist)) throw new Error('No built client: run `npm run build:client` first.');
	return import(clientDist);
}

const turn = () => new Promise((r) => setImmediate(r));

/** The text of output event i: a log line of about `bytes` characters. */
const lineOf = (i, pad) => `line ${i} ${pad}\n`;

async function json(url, token, init = {}) {
	const res = await fetch(url, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers }, signal: AbortSignal.timeout(30000) });
	const text = await res.text();
	if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text.slice(0, 300)}`);
	return text ? JSON.parse(text) : undefined;
}

/** The execution's last seq, as the server has committed it. */
async function lastSeqOf(baseUrl, token, executionId) {
	const body = await json(`${baseUrl}/api/executions/${encodeURIComponent(executionId)}/events?before=999999999&limit=1`, token);
	return body.events.at(-1)?.seq ?? 0;
}

/**
 * N `output` events through the client as fast as the loop goes, then `await runwatch.close()`.
 * The loop yields to the event loop every `yieldEvery` events (as an agent awaiting anything
 * would), so the client sends while the agent still produces. The queue bounds are raised to
 * hold all N: with the defaults (10,000 events) a loop this fast outruns any server and the
 * client drops the newest, by design; here every event must arrive.
 */
async function clientIngest({ baseUrl, token, total, textBytes = 80, yieldEvery = 1000, batch }) {
	assertLoopback(baseUrl);
	const { createRunwatch } = await loadClient();
	const errors = [];
	const runwatch = createRunwatch({
		url: baseUrl,
		token,
		maxQueueEvents: total + 10,
		maxQueueBytes: 2 ** 30,
		...(batch ? { maxBatchEvents: batch } : {}),
		flushOnExit: false,
		onError: (error) => errors.push(`${error.code}: ${error.message}`)
	});
	const run = await runwatch.start({ agent: 'bench-client' });
	const pad = 'x'.repeat(textBytes);
	const t0 = nowUs();
	for (let i = 1; i <= total; i++) {
		run.output(lineOf(i, pad));
		if (i % yieldEvery === 0) await turn();
	}
	const loopUs = nowUs() - t0;
	await runwatch.close({ timeoutMs: 300000 });
	const t1 = nowUs();
	const stats = runwatch.stats();
	const lastSeq = await lastSeqOf(baseUrl, token, run.id);
	return { events: total, elapsedMs: (t1 - t0) / 1000, loopMs: loopUs / 1000, lastSeq, expectedLastSeq: total + 1, ...stats, errors: errors.slice(0, 5) };
}

/**
 * The peer: the same N `output` events, each with its id and time, posted by hand with fetch in
 * batches of `batch`, `inFlight` requests at a time. Events are made and serialised inside the
 * clock, as the client must.
 */
async function rawIngest({ baseUrl, token, total, textBytes = 80, batch = 500, inFlight = 4 }) {
	assertLoopback(baseUrl);
	const created = await json(`${baseUrl}/api/executions`, token, { method: 'POST', body: JSON.stringify({ agent: { name: 'bench-raw' } }) });
	const url = `${baseUrl}/api/executions/${encodeURIComponent(created.id)}/events`;
	const pad = 'x'.repeat(textBytes);
	let next = 1;
	let accepted = 0;
	let requests = 0;
	const t0 = nowUs();
	const worker = async () => {
		while (next <= total) {
			const start = next;
			const end = Math.min(start + batch, total + 1);
			next = end;
			const events = [];
			for (let i = start; i < end; i++) events.push({ id: `raw-${i}`, type: 'output', ts: new Date().toISOString(), data: { text: lineOf(i, pad) } });
			const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
			const body = await res.json();
			if (res.status !== 200) throw new Error(`rawIngest: POST ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
			accepted += body.accepted;
			requests++;
		}
	};
	await Promise.all(Array.from({ length: inFlight }, worker));
	const t1 = nowUs();
	const lastSeq = await lastSeqOf(baseUrl, token, created.id);
	return { events: total, elapsedMs: (t1 - t0) / 1000, accepted, requests, lastSeq, expectedLastSeq: total };
}

/**
 * The agent's own work per iteration: serialise a state of about `workBytes` (a conversation
 * with tool results) and hash it, as an agent checkpointing or caching its context would.
 */
function makeWork(workBytes) {
	const messages = [];
	for (let k = 0; JSON.stringify(messages).length < workBytes; k++) {
		messages.push({ role: k % 2 ? 'assistant' : 'tool', content: `result ${k}: ${'lorem ipsum dolor sit amet '.repeat(3)}`, tokens: 40 + k });
	}
	const state = { step: 0, messages };
	return (i) => {
		state.step = i;
		return createHash('sha256').update(JSON.stringify(state)).digest('hex');
	};
}

/** CPU microseconds this process has used (every thread: the client's delivery thread counts too). */
const cpuUs = () => {
	const u = process.cpuUsage();
	return u.user + u.system;
};

/**
 * CPU microseconds the given threads of this process have used (their `schedstat`, which the
 * kernel brings up to date whenever a thread sleeps: exact for threads that sleep often, like
 * the client's delivery thread and V8's helpers).
 */
function threadsCpuUs(tids) {
	let total = 0;
	for (const tid of tids) {
		try {
			total += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
		} catch {
			// a thread that has ended: its time is no longer the process's either
		}
	}
	return total;
}

/**
 * `blocks` pairs of `iterations` iterations, alternately without the client and with one
 * `run.output()` per iteration (default client options: batching, bounded queue, cancel watch;
 * `deliveryThread` as given). Both loops yield every `yieldEvery` iterations, so the client's
 * work runs inside the timed loop. A block with the client ends with `flush()`, counted in its
 * CPU time but not in its wall time (waiting for the server is not the agent's work); the next
 * block then starts with nothing in flight. Three figures per block: the CPU time of the agent's
 * own thread (its loop: the figure of the target), of the whole process (every thread: what the
 * client costs the machine in all), and the wall time. One warm-up pair first (not counted).
 */
async function agentLoop({ baseUrl, token, iterations, blocks, workBytes = 4096, yieldEvery = 100, deliveryThread = true, deliveryCpus }) {
	assertLoopback(baseUrl);
	const { createRunwatch } = await loadClient();
	const work = makeWork(workBytes);
	const errors = [];
	const listThreads = () => (existsSync('/proc/self/task') ? readdirSync('/proc/self/task') : undefined);
	const threadsBefore = new Set(listThreads() ?? []);
	const runwatch = createRunwatch({ url: baseUrl, token, flushOnExit: false, deliveryThread, onError: (error) => errors.push(`${error.code}: ${error.message}`) });
	// The threads the client started (its delivery thread), once it is up.
	await new Promise((resolve) => setTimeout(resolve, 200));
	const clientThreads = listThreads()?.filter((t) => !threadsBefore.has(t));
	if (deliveryThread && deliveryCpus) {
		// The client's delivery thread may run on these cores (as on a machine where the agent's
		// process is not confined to one); the agent's own thread stays on the load core.
		for (const tid of clientThreads ?? []) execFileSync('taskset', ['-p', '-c', deliveryCpus, tid], { stdio: 'ignore' });
	}
	/**
	 * The agent thread's CPU: the process's (exact) minus every other thread's — the client's
	 * delivery thread, and V8's helpers (garbage collection, compilation) for both threads. Not
	 * the agent thread's own `schedstat`: a thread that never sleeps has it brought up to date
	 * only at scheduler ticks (4 ms here), too coarse for a block.
	 */
	const threadCpuUs = () => {
		const others = listThreads()?.filter((t) => t !== String(process.pid));
		return others && cpuUs() - threadsCpuUs(others);
	};
	const run = await runwatch.start({ agent: 'bench-agent-loop' });
	let sink = 0;
	const loop = async (withClient) => {
		const c0 = cpuUs();
		const th0 = threadCpuUs();
		const t0 = nowUs();
		for (let i = 1; i <= iterations; i++) {
			const h = work(i);
			if (withClient) run.output(`step ${i} ${h.slice(0, 16)}\n`);
			else sink += h.length; // the same use of the result, without the event
			if (i % yieldEvery === 0) await turn();
		}
		const wallUs = nowUs() - t0;
		if (withClient) await runwatch.flush({ timeoutMs: 60000 });
		const th1 = threadCpuUs();
		return { wallUs, cpuUs: cpuUs() - c0, threadCpuUs: th0 === undefined ? undefined : th1 - th0 };
	};
	await loop(false);
	await loop(true);
	const without = [];
	const withC = [];
	for (let b = 0; b < blocks; b++) {
		without.push(await loop(false));
		withC.push(await loop(true));
	}
	await runwatch.close({ timeoutMs: 60000 });
	const stats = runwatch.stats();
	const emitted = (blocks + 1) * iterations;
	const lastSeq = await lastSeqOf(baseUrl, token, run.id);
	return {
		withoutCpuUs: without.map((x) => x.cpuUs),
		withCpuUs: withC.map((x) => x.cpuUs),
		withoutThreadCpuUs: without.map((x) => x.threadCpuUs),
		withThreadCpuUs: withC.map((x) => x.threadCpuUs),
		withoutWallUs: without.map((x) => x.wallUs),
		withWallUs: withC.map((x) => x.wallUs),
		emitted,
		lastSeq,
		expectedLastSeq: emitted + 1,
		sink,
		...stats,
		errors: errors.slice(0, 5)
	};
}

/** Spawns `argv` (node …) and times the first stderr chunk containing `marker`, and the exit. */
function timeSpawn(argv, env, marker) {
	return new Promise((resolve, reject) => {
		const t0 = nowUs();
		let lineUs;
		let err = '';
		const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
		child.stderr.on('data', (chunk) => {
			err += chunk;
			if (lineUs === undefined && err.includes(marker)) lineUs = nowUs() - t0;
		});
		child.on('error', reject);
		child.on('close', (code) => {
			const exitUs = nowUs() - t0;
			if (lineUs === undefined) return reject(new Error(`no "${marker}" on stderr (exit ${code}): ${err.slice(0, 500)}`));
			resolve({ lineMs: lineUs / 1000, exitMs: exitUs / 1000, code });
		});
	});
}

/**
 * `runs` alternating pairs: `runwatch run --name x -- node -e ""` (time to its URL line on
 * stderr, and to its exit: the command, the create and the flush), and `node -e
 * "console.error('x')"` (the Node floor: the same process start, the same kind of first line).
 */
async function spawnTimes({ baseUrl, token, runs }) {
	assertLoopback(baseUrl);
	if (!existsSync(cliPath)) throw new Error('No built client: run `npm run build:client` first.');
	const env = { ...process.env, RUNWATCH_URL: baseUrl, RUNWATCH_TOKEN: token };
	delete env.NODE_OPTIONS;
	const cli = [];
	const floor = [];
	for (let r = 0; r < runs; r++) {
		cli.push(await timeSpawn([cliPath, 'run', '--name', 'x', '--', process.execPath, '-e', ''], env, 'runwatch: watching at '));
		floor.push(await timeSpawn(['-e', "console.error('x')"], env, 'x'));
	}
	const bad = cli.find((x) => x.code !== 0);
	if (bad) throw new Error(`runwatch run exited ${bad.code}`);
	return { cli, floor };
}

serve('bench/load/agent.js', { clientIngest, rawIngest, agentLoop, spawnTimes });
