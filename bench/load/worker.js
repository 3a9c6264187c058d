// A load worker: one process of the load side, driven over IPC by the scenario (bench/run.js).
//
//   spawned by bench/lib/workers.js with an IPC channel; never run by hand.
//
// Roles, by command:
//   open      opens N subscribers of one kind on one execution (Runwatch WebSocket, Runwatch SSE,
//             Socket.IO over its WebSocket transport, or the official socket.io-client)
//   expect    waits until every subscriber holds seq 1..total (bounded), reports counts,
//             loss / duplicates / out-of-order, and the latency histogram
//   close     closes every subscriber
//   publish   posts one event per request, `inFlight` at a time, for a duration or at a fixed rate
//   publishMany  posts batches to many executions in turn, `inFlight` at a time, for `rounds` rounds
//   ingest    posts batches of events, `inFlight` at a time, until `total` are committed
//   steady    posts a small batch at a fixed rate until `stopSteady` (or a time limit), timing each
//   cpu       this process's CPU time
//
// Times are CLOCK_MONOTONIC microseconds (process.hrtime), the same clock in every process on the
// machine, so a publisher's send time and a subscriber's receive time can be subtracted.
// Subscribers do not decode frames: they scan the bytes for `"seq":` (and `"t":`, the send time a
// latency run puts in each event): the load stays cheap, the server is what we measure.
import http from 'node:http';
import WebSocket from 'ws';

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (!process.send) {
	console.error('bench/load/worker.js runs under bench/run.js (it needs an IPC channel)');
	process.exit(2);
}
// The parent holds the IPC channel: if it goes away, so do we.
process.on('disconnect', () => process.exit(2));

function assertLoopback(url) {
	const host = new URL(url).hostname;
	if (host !== '127.0.0.1') throw new Error(`refusing non-loopback target ${url}`);
}

// ---------------------------------------------------------------- latency histogram

/** 0.1 ms buckets up to 60 s; the exact maximum is kept beside. */
const BUCKET_US = 100;
const BUCKETS = 600_000;
class Histogram {
	constructor() {
		this.counts = new Uint32Array(BUCKETS);
		this.n = 0;
		this.max = 0;
	}
	add(us) {
		if (us < 0) us = 0;
		const b = Math.min(BUCKETS - 1, Math.floor(us / BUCKET_US));
		this.counts[b]++;
		this.n++;
		if (us > this.max) this.max = us;
	}
	/** Sparse form for IPC: [[bucket, count], ...]. */
	toJSON() {
		const sparse = [];
		for (let i = 0; i < BUCKETS; i++) if (this.counts[i]) sparse.push([i, this.counts[i]]);
		return { bucketUs: BUCKET_US, n: this.n, maxUs: this.max, sparse };
	}
}

// ---------------------------------------------------------------- subscribers

const SEQ_KEY = Buffer.from('"seq":');
const T_KEY = Buffer.from('"t":');
const RW_EVENT_PREFIX = Buffer.from('{"type":"event');

/** Reads the decimal integer at buf[j...]; returns [value, index after it]. */
function readInt(buf, j) {
	let n = 0;
	let c = buf[j];
	while (c >= 48 && c <= 57) {
		n = n * 10 + (c - 48);
		c = buf[++j];
	}
	return [n, j];
}

class Subscriber {
	constructor(opts) {
		this.opts = opts;
		this.next = 1; // lowest seq not yet held
		this.ahead = new Set(); // seqs held above `next` (only when something arrived out of order)
		this.maxSeq = 0;
		this.unique = 0;
		this.received = 0;
		this.duplicated = 0;
		this.outOfOrder = 0;
		this.unexpected = 0;
		this.frames = 0;
		this.lastNewAt = 0;
		this.errors = [];
		this.conn = undefined;
		this.sseTail = undefined;
	}

	/** Scans a frame (or a complete SSE chunk) for seqs and, in latency runs, send times. */
	scan(buf, start = 0, end = buf.length) {
		const at = nowUs();
		const { latency, skip } = this.opts;
		let i = buf.indexOf(SEQ_KEY, start);
		while (i !== -1 && i < end) {
			const [seq, j] = readInt(buf, i + SEQ_KEY.length);
			this.record(seq, at);
			let from = j;
			if (latency) {
				const k = buf.indexOf(T_KEY, j);
				if (k !== -1 && k < end) {
					const [t, j2] = readInt(buf, k + T_KEY.length);
					latency.add(at - t);
					from = j2;
				}
			}
			// Every event carries a message of `skip` characters before its send time: no "seq" key
			// inside it. (In latency runs `from` is already past the message.)
			i = buf.indexOf(SEQ_KEY, latency ? from : from + skip);
		}
	}

	record(seq, at) {
		this.received++;
		if (seq < 1) {
			this.unexpected++;
			return;
		}
		if (seq < this.next || this.ahead.has(seq)) {
			this.duplicated++;
			return;
		}
		this.unique++;
		this.lastNewAt = at;
		if (seq < this.maxSeq) this.outOfOrder++;
		else this.maxSeq = seq;
		if (seq === this.next) {
			this.next++;
			if (this.ahead.size) while (this.ahead.delete(this.next)) this.next++;
		} else this.ahead.add(seq);
	}

	open(deadline) {
		const { kind } = this.opts;
		if (kind === 'ws') return this.#openRunwatchWs(deadline);
		if (kind === 'sse') return this.#openSse(deadline);
		if (kind === 'sio') return this.#openSocketIoRaw(deadline);
		if (kind === 'sio-client') return this.#openSocketIoClient(deadline);
		throw new Error(`unknown subscriber kind ${kind}`);
	}

	#settle(deadline, body) {
		return new Promise((resolve, reject) => {
			let settled = false;
			const timer = setTimeout(() => done(new Error('subscribe timed out')), Math.max(1000, deadline - Date.now()));
			const done = (error) => {
				if (settled) return;
				settled = true;
				clearTimeout(timer);
				if (error) reject(error);
				else resolve();
			};
			body(done);
		});
	}

	/** Runwatch WebSocket: subscribe since 0, wait for `subscribed`, then `events` frames. */
	#openRunwatchWs(deadline) {
		const { url, executionId } = this.opts;
		return this.#settle(deadline, (done) => {
			const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10000, skipUTF8Validation: true });
			this.conn = ws;
			ws.on('error', (e) => done(e));
			ws.on('close', () => done(new Error('closed before subscribed')));
			ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', executionId, since: 0 })));
			ws.on('message', (data) => {
				const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data);
				if (buf.subarray(0, RW_EVENT_PREFIX.length).equals(RW_EVENT_PREFIX)) {
					this.frames++;
					return this.scan(buf);
				}
				let msg;
				try {
					msg = JSON.parse(buf.toString('utf8'));
				} catch {
					this.errors.push('unparsable frame');
					return;
				}
				if (msg.type === 'subscribed') done();
				else if (msg.type === 'error') {
					this.errors.push(`${msg.code}: ${msg.message}`);
					done(new Error(`server error: ${msg.code}: ${msg.message}`));
				}
			});
		});
	}

	/** Runwatch per-execution SSE stream (`id: <seq>` per event). Ready at the first bytes. */
	#openSse(deadline) {
		const { url, agent } = this.opts;
		return this.#settle(deadline, (done) => {
			const req = http.get(url, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
				if (res.statusCode !== 200) {
					res.resume();
					return done(new Error(`SSE status ${res.statusCode}`));
				}
				res.on('data', (chunk) => {
					this.frames++;
					// An SSE message may straddle chunks: scan complete messages only, keep the rest.
					let buf = this.sseTail ? Buffer.concat([this.sseTail, chunk]) : chunk;
					const end = buf.lastIndexOf('\n\n');
					if (end === -1) {
						this.sseTail = buf;
						return;
					}
					this.scan(buf, 0, end);
					this.sseTail = end + 2 < buf.length ? Buffer.from(buf.subarray(end + 2)) : undefined;
					done();
				});
				res.on('error', (e) => done(e));
				res.on('close', () => done(new Error('SSE stream closed before ready')));
			});
			req.on('error', (e) => done(e));
			this.conn = req;
		});
	}

	/**
	 * Socket.IO 4 spoken over its WebSocket transport with a plain `ws` client (Engine.IO v4
	 * packets: `0` open, `2`/`3` ping/pong, `40` connect, `42[...]` event): the same cheap, scanning
	 * client as the other systems, so the load side does not skew the comparison.
	 */
	#openSocketIoRaw(deadline) {
		const { url, executionId } = this.opts;
		return this.#settle(deadline, (done) => {
			const ws = new WebSocket(`${url}/socket.io/?EIO=4&transport=websocket`, {
				perMessageDeflate: false,
				handshakeTimeout: 10000,
				skipUTF8Validation: true
			});
			this.conn = ws;
			ws.on('error', (e) => done(e));
			ws.on('close', () => done(new Error('closed before subscribed')));
			ws.on('message', (data) => {
				const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data);
				const c0 = buf[0];
				if (c0 === 0x34 && buf[1] === 0x32) {
					// 42["event",...] or 42["subscribed",...]
					if (buf[4] === 0x65) {
						// '42["e'
						this.frames++;
						return this.scan(buf);
					}
					if (buf.includes('"subscribed"')) done();
					return;
				}
				if (c0 === 0x32) return ws.send('3'); // ping → pong
				if (c0 === 0x30) return ws.send('40'); // open → connect to "/"
				if (c0 === 0x34 && buf[1] === 0x30) {
					// connected → subscribe
					return ws.send(`42${JSON.stringify(['subscribe', { executionId }])}`);
				}
				if (c0 === 0x34 && buf[1] === 0x34) done(new Error(`socket.io connect error ${buf.toString()}`));
			});
		});
	}

	/** The official socket.io-client (decodes every packet: costlier on the load side). */
	async #openSocketIoClient(deadline) {
		const { io } = await import('socket.io-client');
		const { url, executionId } = this.opts;
		return this.#settle(deadline, (done) => {
			const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 10000 });
			this.conn = socket;
			socket.on('connect_error', (e) => done(e));
			socket.on('connect', () => socket.emit('subscribe', { executionId }));
			socket.on('subscribed', () => done());
			socket.on('event', (msg) => {
				this.frames++;
				const at = nowUs();
				this.record(msg.event.seq, at);
				if (this.opts.latency && msg.event.data?.t) this.opts.latency.add(at - msg.event.data.t);
			});
		});
	}

	close() {
		try {
			const c = this.conn;
			if (!c) return;
			if (typeof c.terminate === 'function') c.terminate();
			else if (typeof c.destroy === 'function') c.destroy();
			else if (typeof c.disconnect === 'function') c.disconnect();
		} catch {
			// ignore
		}
	}
}

/** Subscribers opened by this worker, and the latency histogram they share. */
let subs = [];
let latency;
let sseAgent;

/**
 * Opens `count` subscribers of `executionId`, or with `executionIds` one subscriber per id (an
 * SSE `url` then holds `__ID__` where the id goes).
 */
async function cmdOpen({ kind, url, executionId, executionIds, count, parallel = 50, timeoutMs = 60000, latency: wantLatency, skip = 0 }) {
	assertLoopback(url);
	latency = wantLatency ? new Histogram() : undefined;
	sseAgent ??= new http.Agent({ keepAlive: false, maxSockets: Infinity });
	const deadline = Date.now() + timeoutMs;
	const targets = executionIds ?? Array.from({ length: count }, () => executionId);
	count = targets.length;
	const list = targets.map(
		(id) => new Subscriber({ kind, url: url.replace('__ID__', encodeURIComponent(id)), executionId: id, latency, skip, agent: sseAgent })
	);
	subs.push(...list);
	let next = 0;
	const t0 = nowUs();
	const worker = async () => {
		while (next < list.length) await list[next++].open(deadline);
	};
	await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
	return { opened: list.length, startedAt: t0, openMs: (nowUs() - t0) / 1000 };
}

/** Waits (bounded) until every subscriber holds 1..total; reports what they got. */
async function cmdExpect({ total, timeoutMs = 60000, graceMs = 200 }) {
	const deadline = Date.now() + timeoutMs;
	const complete = () => subs.every((s) => s.next > total);
	while (!complete() && Date.now() < deadline) await sleep(5);
	const timedOut = !complete();
	await sleep(graceMs); // anything arriving after completion (duplicates, strays) still counts
	const sum = (k) => subs.reduce((a, s) => a + s[k], 0);
	const held = subs.reduce((a, s) => a + Math.min(s.unique, total), 0);
	return {
		subscribers: subs.length,
		timedOut,
		lastDoneAt: Math.max(0, ...subs.map((s) => s.lastNewAt)),
		firstDoneAt: Math.min(...subs.map((s) => s.lastNewAt)),
		delivered: held,
		lost: subs.length * total - held,
		duplicated: sum('duplicated'),
		outOfOrder: sum('outOfOrder'),
		unexpected: sum('unexpected') + subs.reduce((a, s) => a + Math.max(0, s.unique - total), 0),
		frames: sum('frames'),
		errors: subs.flatMap((s) => s.errors).slice(0, 5),
		latency: latency?.toJSON()
	};
}

function cmdClose() {
	for (const s of subs) s.close();
	subs = [];
	latency = undefined;
	return { closed: true };
}

// ---------------------------------------------------------------- publisher / ingest

let postAgent;
/** POST a JSON body (keep-alive agent, `inFlight` sockets). Resolves { status, text }. */
function post(url, token, body) {
	return new Promise((resolve, reject) => {
		const req = http.request(
			url,
			{
				method: 'POST',
				agent: postAgent,
				headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
				timeout: 30000
			},
			(res) => {
				const chunks = [];
				res.on('data', (c) => chunks.push(c));
				res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
				res.on('error', reject);
			}
		);
		req.on('timeout', () => req.destroy(new Error('POST timed out')));
		req.on('error', reject);
		req.end(body);
	});
}

function eventBody(prefix, i, pad, t) {
	const data = t === undefined ? `{"level":"info","message":"event ${i} ${pad}"}` : `{"level":"info","message":"event ${i} ${pad}","t":${t}}`;
	return `{"id":"${prefix}-${i}","type":"log","data":${data}}`;
}

/**
 * One event per request, `inFlight` requests at a time.
 * mode 'burst': as fast as the server acknowledges, for `durationMs` (or `count` events).
 * mode 'rate': event i is sent at start + i / rate (never more than `inFlight` outstanding).
 */
async function cmdPublish({ baseUrl, token, executionId, mode = 'burst', durationMs = 2000, count = Infinity, rate = 100, inFlight = 32, payloadBytes = 100, stamp = false, prefix = 'e' }) {
	assertLoopback(baseUrl);
	postAgent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
	const url = `${baseUrl}/api/executions/${encodeURIComponent(executionId)}/events`;
	const pad = 'x'.repeat(payloadBytes);
	const t0 = nowUs();
	const endUs = t0 + durationMs * 1000;
	let next = 0;
	let accepted = 0;
	let lastSeq = 0;
	let behind = 0;
	const errors = [];
	const worker = async () => {
		for (;;) {
			if (next >= count) return;
			if (mode !== 'rate' && nowUs() >= endUs) return;
			const i = ++next; // this worker's slot
			if (mode === 'rate') {
				const due = t0 + ((i - 1) * 1e6) / rate;
				if (due >= endUs) {
					next = Math.min(next, i - 1);
					return;
				}
				const wait = due - nowUs();
				if (wait > 1000) await sleep(Math.floor(wait / 1000));
				else if (wait < -5000) behind++; // more than 5 ms late: every request slot was busy
			}
			const t = stamp ? nowUs() : undefined;
			try {
				const res = await post(url, token, eventBody(prefix, i, pad, t));
				if (res.status !== 200) throw new Error(`POST ${res.status} ${res.text.slice(0, 120).replace(/\s+/g, ' ')}`);
				accepted++;
				const m = /"lastSeq":(\d+)/.exec(res.text);
				if (m) lastSeq = Math.max(lastSeq, Number(m[1]));
			} catch (error) {
				errors.push(String(error.message ?? error));
				if (errors.length > 20) throw new Error(`publish: ${errors.slice(0, 3).join('; ')}`);
			}
		}
	};
	await Promise.all(Array.from({ length: inFlight }, worker));
	postAgent.destroy();
	return { accepted, lastSeq, firstAt: t0, lastAt: nowUs(), sent: next, behind, errors: errors.slice(0, 5) };
}

/**
 * Many executions at once: `rounds` rounds, each posting one batch of `batch` events to every
 * execution in turn, `inFlight` requests at a time (one execution has at most one request in
 * flight while there are more executions than requests). Every execution ends with
 * rounds × batch events.
 */
async function cmdPublishMany({ baseUrl, token, executionIds, rounds, batch = 10, inFlight = 32, payloadBytes = 100, prefix = 'm', timeoutMs = 120000 }) {
	assertLoopback(baseUrl);
	postAgent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
	const pad = 'x'.repeat(payloadBytes);
	const urls = executionIds.map((id) => `${baseUrl}/api/executions/${encodeURIComponent(id)}/events`);
	const jobs = rounds * executionIds.length;
	const bodyOf = (job) => {
		const round = Math.floor(job / executionIds.length);
		const parts = [];
		for (let i = round * batch + 1; i <= (round + 1) * batch; i++) parts.push(eventBody(prefix, i, pad));
		return `{"events":[${parts.join(',')}]}`;
	};
	const deadline = Date.now() + timeoutMs;
	let next = 0;
	let accepted = 0;
	const t0 = nowUs();
	const worker = async () => {
		while (next < jobs) {
			if (Date.now() > deadline) throw new Error('publishMany: deadline passed');
			const job = next++;
			const res = await post(urls[job % urls.length], token, bodyOf(job));
			if (res.status !== 200) throw new Error(`publishMany: POST ${res.status} ${res.text.slice(0, 300)}`);
			const m = /"accepted":(\d+)/.exec(res.text);
			if (m) accepted += Number(m[1]);
		}
	};
	await Promise.all(Array.from({ length: Math.min(inFlight, jobs) }, worker));
	const t1 = nowUs();
	postAgent.destroy();
	return { accepted, requests: jobs, firstAt: t0, lastAt: t1 };
}

/** Batches of `batch` events, `inFlight` requests at a time, until `total` are committed. */
async function cmdIngest({ baseUrl, token, executionId, total, batch = 100, inFlight = 8, payloadBytes = 100, prefix = 'i', timeoutMs = 120000 }) {
	assertLoopback(baseUrl);
	postAgent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
	const url = `${baseUrl}/api/executions/${encodeURIComponent(executionId)}/events`;
	const pad = 'x'.repeat(payloadBytes);
	// Bodies are built before the clock starts: the publisher's own JSON cost stays out.
	const bodies = [];
	for (let start = 1; start <= total; start += batch) {
		const parts = [];
		for (let i = start; i < Math.min(start + batch, total + 1); i++) parts.push(eventBody(prefix, i, pad));
		bodies.push(`{"events":[${parts.join(',')}]}`);
	}
	const deadline = Date.now() + timeoutMs;
	let next = 0;
	let accepted = 0;
	let lastSeq = 0;
	const t0 = nowUs();
	const worker = async () => {
		while (next < bodies.length) {
			if (Date.now() > deadline) throw new Error('ingest: deadline passed');
			const res = await post(url, token, bodies[next++]);
			if (res.status !== 200) throw new Error(`ingest: POST ${res.status} ${res.text.slice(0, 300)}`);
			const m = /"accepted":(\d+),"lastSeq":(\d+)/.exec(res.text);
			if (m) {
				accepted += Number(m[1]);
				lastSeq = Math.max(lastSeq, Number(m[2]));
			}
		}
	};
	await Promise.all(Array.from({ length: Math.min(inFlight, bodies.length) }, worker));
	const t1 = nowUs();
	postAgent.destroy();
	return { accepted, lastSeq, requests: bodies.length, elapsedMs: (t1 - t0) / 1000, firstAt: t0, lastAt: t1 };
}

let steadyStop = false;

/**
 * A batch of `batch` events every 1/rate s (at most `inFlight` outstanding), until `stopSteady`
 * or `maxDurationMs`. Returns every request as [sent at µs, answered after µs], so the scenario
 * can pick the ones sent in a window it observed (same monotonic clock in every process).
 */
async function cmdSteady({ baseUrl, token, executionId, rate = 100, batch = 10, inFlight = 16, payloadBytes = 100, maxDurationMs = 600000, prefix = 's' }) {
	assertLoopback(baseUrl);
	steadyStop = false;
	// FIFO: every socket is used in turn, so none sits idle past the server's keep-alive timeout
	// (5 s) and gets closed just as a request goes out on it.
	postAgent = new http.Agent({ keepAlive: true, maxSockets: inFlight, scheduling: 'fifo' });
	const url = `${baseUrl}/api/executions/${encodeURIComponent(executionId)}/events`;
	const pad = 'x'.repeat(payloadBytes);
	const t0 = nowUs();
	const endUs = t0 + maxDurationMs * 1000;
	const samples = [];
	const errors = [];
	let next = 0;
	let late = 0;
	let resets = 0;
	const worker = async () => {
		for (;;) {
			const i = next++;
			const due = t0 + (i * 1e6) / rate;
			if (steadyStop || due >= endUs) return;
			const wait = due - nowUs();
			if (wait > 1000) await sleep(Math.floor(wait / 1000));
			else if (wait < -5000) late++; // every request slot was busy: the server fell behind
			if (steadyStop) return;
			const parts = [];
			for (let k = 0; k < batch; k++) parts.push(eventBody(prefix, i * batch + k, pad));
			const body = `{"events":[${parts.join(',')}]}`;
			const sent = nowUs();
			try {
				let res;
				try {
					res = await post(url, token, body);
				} catch (error) {
					// A kept-alive socket the server closed as we wrote to it: the request never
					// arrived; send it again (event ids make a repeat harmless), timed from the first try.
					if (error?.code !== 'ECONNRESET') throw error;
					resets++;
					res = await post(url, token, body);
				}
				if (res.status !== 200) throw new Error(`POST ${res.status} ${res.text.slice(0, 120)}`);
				samples.push([sent, nowUs() - sent]);
			} catch (error) {
				errors.push(String(error.message ?? error));
				if (errors.length > 20) throw new Error(`steady: ${errors.slice(0, 3).join('; ')}`);
			}
		}
	};
	await Promise.all(Array.from({ length: inFlight }, worker));
	postAgent.destroy();
	return { samples, late, resets, errors: errors.slice(0, 5), firstAt: t0, lastAt: nowUs() };
}

// ---------------------------------------------------------------- IPC

const commands = {
	open: cmdOpen,
	expect: cmdExpect,
	close: cmdClose,
	publish: cmdPublish,
	publishMany: cmdPublishMany,
	ingest: cmdIngest,
	steady: cmdSteady,
	stopSteady: () => {
		steadyStop = true;
		return { stopping: true };
	},
	resetLatency: () => {
		if (latency) {
			latency = new Histogram();
			for (const s of subs) s.opts.latency = latency;
		}
		return { reset: true };
	},
	cpu: () => {
		const u = process.cpuUsage();
		return { cpuSec: (u.user + u.system) / 1e6, rssKiB: Math.round(process.memoryUsage.rss() / 1024) };
	},
	now: () => ({ now: nowUs() })
};

process.on('message', async ({ id, cmd, args }) => {
	try {
		const fn = commands[cmd];
		if (!fn) throw new Error(`unknown command ${cmd}`);
		const result = await fn(args ?? {});
		process.send({ id, ok: true, result });
	} catch (error) {
		process.send({ id, ok: false, error: String(error?.stack ?? error) });
	}
});
process.send({ ready: true });
