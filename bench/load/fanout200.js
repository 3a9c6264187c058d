// Load process for the "fanout200" scenario (runs in its own process, apart from the server).
//
//   node bench/load/fanout200.js '<json config>'
//
// Opens N WebSocket subscribers on one execution, then publishes E events through the HTTP
// ingest API (batches of B per request, K requests in flight), and waits until every
// subscriber holds every seq 1..E. Prints one line `BENCH_RESULT {json}` at the end.
// Every wait is bounded: the whole run gives up after `timeoutMs`.
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { processCpu } from '../lib/proc.js';

const cfg = JSON.parse(process.argv[2] ?? '{}');
const {
	baseUrl,
	wsUrl,
	token,
	serverPid,
	subscribers = 200,
	events = 10000,
	batch = 100,
	inFlight = 4,
	payloadBytes = 100,
	timeoutMs = 120000,
	warmupEvents = 2000,
	warmupSubscribers = 20,
	settleMs = 300,
	graceMs = 300
} = cfg;

for (const url of [baseUrl, wsUrl]) {
	const host = new URL(url).hostname;
	if (host !== '127.0.0.1') throw new Error(`refusing non-loopback target ${url}`);
}

// The parent holds our stdin: if it goes away, so do we.
process.stdin.on('end', () => process.exit(2));
process.stdin.on('error', () => process.exit(2));
process.stdin.resume();
const hardStop = setTimeout(() => {
	console.error(`load: hard timeout after ${timeoutMs + 30000} ms`);
	process.exit(3);
}, timeoutMs + 30000);
hardStop.unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

async function createExecution(name) {
	const res = await fetch(`${baseUrl}/api/executions`, {
		method: 'POST',
		headers: auth,
		body: JSON.stringify({ agent: { name } }),
		signal: AbortSignal.timeout(10000)
	});
	const body = await res.json();
	if (res.status !== 201 && res.status !== 200) throw new Error(`create execution: ${res.status} ${JSON.stringify(body)}`);
	return body.id;
}

/** Pre-built request bodies (the publisher's own JSON cost stays out of the timed window). */
function buildBodies(prefix, total) {
	const pad = 'x'.repeat(Math.max(0, payloadBytes));
	const bodies = [];
	for (let start = 1; start <= total; start += batch) {
		const list = [];
		for (let i = start; i < Math.min(start + batch, total + 1); i++) {
			list.push({ id: `${prefix}-${i}`, type: 'log', data: { level: 'info', message: `event ${i} ${pad}` } });
		}
		bodies.push(JSON.stringify({ events: list }));
	}
	return bodies;
}

/** Posts every body with `inFlight` requests at a time. Throws on any non-2xx. */
async function publish(executionId, bodies, deadline) {
	let next = 0;
	let accepted = 0;
	const url = `${baseUrl}/api/executions/${encodeURIComponent(executionId)}/events`;
	const worker = async () => {
		while (next < bodies.length) {
			if (Date.now() > deadline) throw new Error('publish: deadline passed');
			const body = bodies[next++];
			const res = await fetch(url, { method: 'POST', headers: auth, body, signal: AbortSignal.timeout(30000) });
			const text = await res.text();
			if (res.status !== 200) throw new Error(`publish: ${res.status} ${text.slice(0, 300)}`);
			accepted += JSON.parse(text).accepted;
		}
	};
	await Promise.all(Array.from({ length: Math.min(inFlight, bodies.length) }, worker));
	return accepted;
}

const SEQ_KEY = Buffer.from('"seq":');
const EVENT_PREFIX = Buffer.from('{"type":"event');
const SKIP = Math.max(0, payloadBytes);

/**
 * One viewer. Counts seqs with a bitmap: unique, duplicates, out-of-order (a seq lower than one
 * already received), unexpected (outside 1..total). Seqs are read by scanning the frame bytes for
 * the `"seq":` key (the benchmark's event data has no such key, and a `"` inside a JSON string is
 * escaped, so only real keys match): the load generator stays cheap, the server is what we measure.
 */
class Subscriber {
	constructor(executionId, total, onDone) {
		this.executionId = executionId;
		this.total = total;
		this.seen = new Uint8Array(total + 1);
		this.unique = 0;
		this.received = 0;
		this.duplicated = 0;
		this.outOfOrder = 0;
		this.unexpected = 0;
		this.frames = 0;
		this.errors = [];
		this.maxSeq = 0;
		this.doneAt = undefined;
		this.onDone = onDone;
		this.subscribed = undefined;
		this.ws = undefined;
	}

	open(deadline) {
		return new Promise((resolve, reject) => {
			const ws = new WebSocket(wsUrl, {
				perMessageDeflate: false,
				handshakeTimeout: 10000,
				// The load generator must stay cheap: the frames are scanned for seqs, not decoded.
				skipUTF8Validation: true
			});
			this.ws = ws;
			let settled = false;
			const timer = setTimeout(() => fail(new Error('subscribe timed out')), Math.max(1000, deadline - Date.now()));
			const fail = (error) => {
				if (settled) return;
				settled = true;
				clearTimeout(timer);
				reject(error);
			};
			ws.on('error', fail);
			ws.on('close', () => fail(new Error('closed before subscribed')));
			ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', executionId: this.executionId, since: 0 })));
			ws.on('message', (data) => {
				const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
				if (buf.subarray(0, EVENT_PREFIX.length).equals(EVENT_PREFIX)) return this.onEvents(buf);
				let msg;
				try {
					msg = JSON.parse(buf.toString('utf8'));
				} catch {
					this.errors.push('unparsable frame');
					return;
				}
				if (msg.type === 'subscribed') {
					this.subscribed = msg;
					if (!settled) {
						settled = true;
						clearTimeout(timer);
						resolve();
					}
				} else if (msg.type === 'error') {
					this.errors.push(`${msg.code}: ${msg.message}`);
					fail(new Error(`server error: ${msg.code}: ${msg.message}`));
				}
			});
		});
	}

	onEvents(buf) {
		this.frames++;
		let i = buf.indexOf(SEQ_KEY);
		while (i !== -1) {
			let j = i + SEQ_KEY.length;
			let n = 0;
			let c = buf[j];
			while (c >= 48 && c <= 57) {
				n = n * 10 + (c - 48);
				c = buf[++j];
			}
			this.record(n);
			// Two consecutive "seq" keys have a whole event between them, and every event carries
			// a message of `payloadBytes` characters: skip that much (halves the scan). A server
			// that dropped the payload would show up as lost events, not as a silent pass.
			i = buf.indexOf(SEQ_KEY, j + SKIP);
		}
	}

	record(seq) {
		this.received++;
		if (seq < 1 || seq > this.total) {
			this.unexpected++;
			return;
		}
		if (this.seen[seq]) {
			this.duplicated++;
			return;
		}
		this.seen[seq] = 1;
		this.unique++;
		if (seq < this.maxSeq) this.outOfOrder++;
		else this.maxSeq = seq;
		if (this.unique === this.total && this.doneAt === undefined) {
			this.doneAt = performance.now();
			this.onDone(this);
		}
	}

	close() {
		try {
			this.ws?.terminate();
		} catch {
			// ignore
		}
	}
}

/** Opens `count` subscribers on `executionId`, `parallel` handshakes at a time. */
async function openSubscribers(executionId, count, total, onDone, deadline, parallel = 50) {
	const subs = Array.from({ length: count }, () => new Subscriber(executionId, total, onDone));
	let next = 0;
	const worker = async () => {
		while (next < subs.length) await subs[next++].open(deadline);
	};
	await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
	return subs;
}

/** Publishes `total` events to a fresh execution watched by `count` subscribers; measures delivery. */
async function round({ name, count, total, deadline }) {
	const executionId = await createExecution(`bench-${name}`);
	let done = 0;
	let allDone;
	const allDonePromise = new Promise((r) => (allDone = r));
	const subs = await openSubscribers(executionId, count, total, () => {
		if (++done === count) allDone();
	}, deadline);
	await sleep(settleMs); // let every subscription finish its (empty) catch-up and go live
	const bodies = buildBodies(name, total);

	const cpuServer0 = processCpu(serverPid);
	const cpuLoad0 = process.cpuUsage();
	const t0 = performance.now();
	const publishPromise = publish(executionId, bodies, deadline).then((accepted) => ({ accepted, at: performance.now() }));
	const timeLeft = Math.max(0, deadline - Date.now());
	let timer;
	const timedOut = await Promise.race([
		Promise.all([publishPromise, allDonePromise]).then(() => false),
		new Promise((r) => (timer = setTimeout(() => r(true), timeLeft)))
	]);
	clearTimeout(timer);
	const tEnd = timedOut ? performance.now() : Math.max(...subs.map((s) => s.doneAt));
	const cpuServer1 = processCpu(serverPid);
	const cpuLoad = process.cpuUsage(cpuLoad0);
	const published = await Promise.race([publishPromise, sleep(0).then(() => undefined)]);
	await sleep(graceMs); // anything arriving after completion (duplicates, strays) still counts

	const sum = (key) => subs.reduce((a, s) => a + s[key], 0);
	const elapsedMs = tEnd - t0;
	const doneTimes = subs.filter((s) => s.doneAt !== undefined).map((s) => s.doneAt - t0).sort((a, b) => a - b);
	const result = {
		executionId,
		subscribers: count,
		events: total,
		expected: count * total,
		timedOut,
		elapsedMs,
		publishMs: published ? published.at - t0 : undefined,
		accepted: published?.accepted,
		delivered: sum('unique'),
		received: sum('received'),
		frames: sum('frames'),
		lost: count * total - sum('unique'),
		duplicated: sum('duplicated'),
		outOfOrder: sum('outOfOrder'),
		unexpected: sum('unexpected'),
		errors: subs.flatMap((s) => s.errors).slice(0, 5),
		deliveredPerSec: sum('unique') / (elapsedMs / 1000),
		ingestPerSec: published ? total / ((published.at - t0) / 1000) : undefined,
		firstSubscriberDoneMs: doneTimes[0],
		lastSubscriberDoneMs: doneTimes.at(-1),
		serverCpuSec: cpuServer0 && cpuServer1 ? cpuServer1.total - cpuServer0.total : undefined,
		serverCpuUserSec: cpuServer0 && cpuServer1 ? cpuServer1.user - cpuServer0.user : undefined,
		serverCpuSysSec: cpuServer0 && cpuServer1 ? cpuServer1.system - cpuServer0.system : undefined,
		loadCpuSec: (cpuLoad.user + cpuLoad.system) / 1e6,
		loadCpuUserSec: cpuLoad.user / 1e6,
		loadCpuSysSec: cpuLoad.system / 1e6
	};
	// Which side was the bottleneck: a process near 100 % of one core was saturated.
	result.serverCpuPct = result.serverCpuSec !== undefined ? (result.serverCpuSec / (elapsedMs / 1000)) * 100 : undefined;
	result.loadCpuPct = (result.loadCpuSec / (elapsedMs / 1000)) * 100;
	// Delivered events per second of server CPU: the server's cost, whatever limited the wall time.
	result.deliveredPerServerCpuSec = result.serverCpuSec ? result.delivered / result.serverCpuSec : undefined;
	for (const s of subs) s.close();
	return result;
}

const start = Date.now();
try {
	if (warmupEvents > 0 && warmupSubscribers > 0) {
		await round({ name: 'warmup', count: warmupSubscribers, total: warmupEvents, deadline: start + Math.min(30000, timeoutMs) });
		await sleep(200);
	}
	const result = await round({ name: 'run', count: subscribers, total: events, deadline: Date.now() + timeoutMs });
	process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
	process.exit(0);
} catch (error) {
	console.error(`load: ${error?.stack ?? error}`);
	process.exit(1);
}
