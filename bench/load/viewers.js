// A load process that holds share-link viewers (bench/scenarios/revocation.js drives it over
// IPC; never run by hand):
//   open     N WebSockets (cookie `runwatch_share_<shareId>=<token>`, subscribed to the
//            execution) and M SSE streams (`GET /api/executions/:id/stream`, `Authorization:
//            Bearer <token>`), all holding the same share
//   deliver  posts one event and times its arrival on every connection (the peer: how long the
//            server takes to reach all of them with something)
//   revoke   `DELETE /api/executions/:id/shares/:shareId` and times, per connection, the close
//            (WebSocket: code 4403; SSE: the `event: error` … `forbidden` message, then the end)
import http from 'node:http';
import WebSocket from 'ws';
import { assertLoopback, nowUs, sleep, serve } from './ipc.js';

/** @type {{ kind: 'ws' | 'sse', closedAt?: number, code?: number, forbiddenAt?: number, endedAt?: number, gotAt?: number, buf: string, conn: any }[]} */
let conns = [];
let marker;

function watch(c, text, at) {
	c.buf = (c.buf + text).slice(-4096);
	if (marker && c.gotAt === undefined && c.buf.includes(marker)) c.gotAt = at;
	if (c.kind === 'sse' && c.forbiddenAt === undefined && /event: error\ndata: [^\n]*"forbidden"/.test(c.buf)) c.forbiddenAt = at;
}

function openWs({ wsUrl, executionId, cookie }) {
	return new Promise((resolve, reject) => {
		const c = { kind: 'ws', buf: '' };
		const ws = new WebSocket(wsUrl, { headers: { cookie }, perMessageDeflate: false, handshakeTimeout: 10000 });
		c.conn = ws;
		const timer = setTimeout(() => reject(new Error('WebSocket: not subscribed in 30 s')), 30000);
		ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', executionId, since: 0 })));
		ws.on('message', (data) => {
			const at = nowUs();
			const text = data.toString();
			watch(c, text, at);
			if (text.includes('"type":"subscribed"')) {
				clearTimeout(timer);
				resolve(c);
			} else if (text.startsWith('{"type":"error"')) {
				clearTimeout(timer);
				reject(new Error(`WebSocket error frame: ${text.slice(0, 200)}`));
			}
		});
		ws.on('close', (code) => {
			c.closedAt = nowUs();
			c.code = code;
			clearTimeout(timer);
			reject(new Error(`WebSocket closed (${code}) before subscribed`));
		});
		ws.on('error', () => {});
	});
}

function openSse({ baseUrl, executionId, token, agent }) {
	return new Promise((resolve, reject) => {
		const c = { kind: 'sse', buf: '' };
		const req = http.get(`${baseUrl}/api/executions/${encodeURIComponent(executionId)}/stream`, { agent, headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } }, (res) => {
			if (res.statusCode !== 200) {
				res.resume();
				return reject(new Error(`SSE status ${res.statusCode}`));
			}
			res.setEncoding('utf8');
			res.on('data', (text) => {
				watch(c, text, nowUs());
				resolve(c);
			});
			const end = () => {
				c.endedAt ??= nowUs();
			};
			res.on('end', end);
			res.on('close', end);
			res.on('error', end);
		});
		req.on('error', (e) => reject(e));
		c.conn = req;
	});
}

async function open({ baseUrl, wsUrl, executionId, shareId, token, ws, sse, parallel = 20 }) {
	assertLoopback(baseUrl);
	const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
	const cookie = `runwatch_share_${shareId}=${encodeURIComponent(token)}`;
	const jobs = [...Array.from({ length: ws }, () => () => openWs({ wsUrl, executionId, cookie })), ...Array.from({ length: sse }, () => () => openSse({ baseUrl, executionId, token, agent }))];
	let next = 0;
	const t0 = nowUs();
	await Promise.all(
		Array.from({ length: parallel }, async () => {
			while (next < jobs.length) conns.push(await jobs[next++]());
		})
	);
	return { opened: conns.length, openMs: (nowUs() - t0) / 1000 };
}

/** Waits (bounded) until `done(c)` holds for every connection. */
async function until(done, timeoutMs) {
	const deadline = Date.now() + timeoutMs;
	while (!conns.every(done) && Date.now() < deadline) await sleep(2);
	return conns.every(done);
}

const ms = (list) => list.map((us) => us / 1000);

async function deliver({ baseUrl, executionId, ingestToken, timeoutMs = 30000 }) {
	marker = `bench-marker-${Date.now()}`;
	for (const c of conns) c.gotAt = undefined;
	const t0 = nowUs();
	const res = await fetch(`${baseUrl}/api/executions/${encodeURIComponent(executionId)}/events`, {
		method: 'POST',
		headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json' },
		body: JSON.stringify({ id: marker, type: 'log', data: { level: 'info', message: marker } })
	});
	if (res.status !== 200) throw new Error(`POST event: ${res.status} ${await res.text()}`);
	const all = await until((c) => c.gotAt !== undefined, timeoutMs);
	return { all, ws: ms(conns.filter((c) => c.kind === 'ws' && c.gotAt).map((c) => c.gotAt - t0)), sse: ms(conns.filter((c) => c.kind === 'sse' && c.gotAt).map((c) => c.gotAt - t0)) };
}

async function revoke({ baseUrl, executionId, shareId, ingestToken, timeoutMs = 30000 }) {
	const t0 = nowUs();
	const res = await fetch(`${baseUrl}/api/executions/${encodeURIComponent(executionId)}/shares/${encodeURIComponent(shareId)}`, {
		method: 'DELETE',
		headers: { authorization: `Bearer ${ingestToken}` }
	});
	const answeredMs = (nowUs() - t0) / 1000;
	if (res.status !== 204) throw new Error(`DELETE share: ${res.status} ${await res.text()}`);
	const all = await until((c) => (c.kind === 'ws' ? c.closedAt !== undefined : c.endedAt !== undefined), timeoutMs);
	const wsConns = conns.filter((c) => c.kind === 'ws');
	const sseConns = conns.filter((c) => c.kind === 'sse');
	return {
		all,
		answeredMs,
		ws: ms(wsConns.filter((c) => c.closedAt).map((c) => c.closedAt - t0)),
		wsWrongCode: wsConns.filter((c) => c.closedAt && c.code !== 4403).map((c) => c.code),
		sse: ms(sseConns.filter((c) => c.endedAt).map((c) => c.endedAt - t0)),
		sseForbidden: ms(sseConns.filter((c) => c.forbiddenAt).map((c) => c.forbiddenAt - t0)),
		sseWithoutForbidden: sseConns.filter((c) => c.endedAt && !c.forbiddenAt).length,
		open: conns.filter((c) => (c.kind === 'ws' ? c.closedAt === undefined : c.endedAt === undefined)).length
	};
}

function close() {
	for (const c of conns) {
		try {
			if (c.kind === 'ws') c.conn.terminate();
			else c.conn.destroy();
		} catch {
			// gone already
		}
	}
	conns = [];
	return { closed: true };
}

serve('bench/load/viewers.js', { open, deliver, revoke, close });
