// Baseline system: a plain `ws` broadcast server, "what Node costs" to fan events out.
//
// Run directly (`node bench/systems/ws-broadcast.js`, env PORT) it IS that server: it speaks the
// same slice of the Runwatch contract the benchmark uses (POST /api/executions,
// POST /api/executions/:id/events with { events: [...] }, WS subscribe → subscribed), assigns
// seq per execution in memory, and sends one `event` frame per event to every subscriber,
// serialised once. No storage, no validation, no batching, no backpressure handling.
// With BENCH_FRAMING=batch (system "ws-broadcast-batched") it sends one `events` frame per POST
// instead: Runwatch's framing without Runwatch (storage, validation, SvelteKit). With
// BENCH_FRAMING=tick (system "ws-broadcast-tick") it collects events per execution and sends one
// `events` frame every 10 ms tick: the batched floor of the issue-5 scenarios.
// Imported, it is the system descriptor that starts that server in a child process.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;

/** Starts the server in a child process. framing: 'event' (one frame per event), 'batch' (one per POST), 'tick' (one per 10 ms). */
export async function startWsBroadcast({ cpu, nodeArgs = [], echo = false, framing = 'event' } = {}) {
	const { freePort, spawnNode, stopChild, waitForHttp } = await import('../lib/proc.js');
	const port = await freePort();
	const token = randomBytes(16).toString('hex');
	const { child, output } = spawnNode([fileURLToPath(import.meta.url)], {
		cpu,
		label: `ws-broadcast(${framing})`,
		echo,
		nodeArgs,
		env: { PORT: String(port), BENCH_TOKEN: token, BENCH_FRAMING: framing }
	});
	const baseUrl = `http://127.0.0.1:${port}`;
	try {
		await waitForHttp(`${baseUrl}/health`, { child, output });
	} catch (error) {
		await stopChild(child, 1000);
		throw error;
	}
	return {
		pid: child.pid,
		baseUrl,
		wsUrl: `ws://127.0.0.1:${port}/api/ws`,
		token,
		output,
		stop: () => stopChild(child, 5000)
	};
}

export default {
	name: 'ws-broadcast',
	label: 'ws broadcast',
	kind: 'ws',
	storage: false,
	description: 'plain `ws` server, in-memory seq, one frame per event (floor)',
	start: (options) => startWsBroadcast({ ...options, framing: 'event' })
};

async function runServer() {
	const { WebSocketServer, WebSocket } = await import('ws');
	const port = Number(process.env.PORT);
	const token = process.env.BENCH_TOKEN;
	const batchFrames = process.env.BENCH_FRAMING === 'batch';
	const tickFrames = process.env.BENCH_FRAMING === 'tick';
	const TICK_MS = 10;
	/** executionId → { lastSeq, sockets: Set<WebSocket>, pending: events not yet sent (tick framing) } */
	const executions = new Map();
	const topic = (id) => {
		let t = executions.get(id);
		if (!t) executions.set(id, (t = { id, lastSeq: 0, sockets: new Set(), pending: [] }));
		return t;
	};
	const dirty = new Set();
	let tickTimer;
	const flushTick = () => {
		tickTimer = undefined;
		for (const t of dirty) {
			const frame = `{"type":"events","executionId":${JSON.stringify(t.id)},"events":${JSON.stringify(t.pending)}}`;
			t.pending = [];
			for (const ws of t.sockets) if (ws.readyState === WebSocket.OPEN) ws.send(frame);
		}
		dirty.clear();
	};

	const readBody = (req) =>
		new Promise((resolve, reject) => {
			const chunks = [];
			req.on('data', (c) => chunks.push(c));
			req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
			req.on('error', reject);
		});
	const send = (res, status, body) => {
		const text = JSON.stringify(body);
		res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
		res.end(text);
	};

	const server = http.createServer(async (req, res) => {
		try {
			if (req.method === 'GET' && req.url === '/health') return send(res, 200, { ok: true });
			if (req.method !== 'POST') return send(res, 404, { error: { code: 'not_found', message: 'no' } });
			if (req.headers.authorization !== `Bearer ${token}`) {
				return send(res, 401, { error: { code: 'unauthorized', message: 'token' } });
			}
			const body = JSON.parse((await readBody(req)) || '{}');
			if (req.url === '/api/executions') {
				const id = body.id ?? randomBytes(16).toString('base64url');
				topic(id);
				return send(res, 201, { id });
			}
			const m = /^\/api\/executions\/([A-Za-z0-9_-]{1,64})\/events$/.exec(req.url ?? '');
			if (!m) return send(res, 404, { error: { code: 'not_found', message: 'no' } });
			const executionId = m[1];
			const t = topic(executionId);
			const inputs = Array.isArray(body.events) ? body.events : [body];
			const now = new Date().toISOString();
			const prefix = `{"type":"event","executionId":${JSON.stringify(executionId)},"event":`;
			const stored = inputs.map((input) => ({ seq: ++t.lastSeq, id: input.id, type: input.type, ts: input.ts ?? now, data: input.data }));
			if (tickFrames) {
				// Collected per execution, one `events` frame per 10 ms tick, serialised once.
				t.pending.push(...stored);
				dirty.add(t);
				tickTimer ??= setTimeout(flushTick, TICK_MS);
			} else if (batchFrames) {
				// One `events` frame per POST, serialised once: the same framing as Runwatch's hub.
				const frame = `{"type":"events","executionId":${JSON.stringify(executionId)},"events":${JSON.stringify(stored)}}`;
				for (const ws of t.sockets) if (ws.readyState === WebSocket.OPEN) ws.send(frame);
			} else {
				for (const event of stored) {
					const frame = prefix + JSON.stringify(event) + '}';
					for (const ws of t.sockets) if (ws.readyState === WebSocket.OPEN) ws.send(frame);
				}
			}
			send(res, 200, { accepted: inputs.length, lastSeq: t.lastSeq });
		} catch (error) {
			send(res, 400, { error: { code: 'bad_request', message: String(error?.message ?? error) } });
		}
	});

	const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
	server.on('upgrade', (req, socket, head) => {
		if (!req.url?.startsWith('/api/ws')) return socket.destroy();
		wss.handleUpgrade(req, socket, head, (ws) => {
			const mine = new Set();
			ws.on('message', (data) => {
				let msg;
				try {
					msg = JSON.parse(data.toString());
				} catch {
					return;
				}
				if (msg?.type === 'subscribe' && typeof msg.executionId === 'string') {
					const t = topic(msg.executionId);
					// Live only: the benchmark subscribes before publishing (since 0 = nothing yet).
					ws.send(JSON.stringify({ type: 'subscribed', executionId: msg.executionId, lastSeq: t.lastSeq }));
					t.sockets.add(ws);
					mine.add(t);
				} else if (msg?.type === 'ping') ws.send('{"type":"pong"}');
			});
			ws.on('error', () => {});
			ws.on('close', () => {
				for (const t of mine) t.sockets.delete(ws);
			});
		});
	});

	server.listen(port, '127.0.0.1');
	const stop = () => {
		server.closeAllConnections?.();
		process.exit(0);
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	// The parent holds our stdin: if it goes away, so do we.
	process.stdin.on('end', stop);
	process.stdin.on('error', stop);
	process.stdin.resume();
}

if (isMain) await runServer();
