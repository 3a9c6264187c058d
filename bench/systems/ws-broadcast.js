// Baseline system: a plain `ws` broadcast server, "what Node costs" to fan events out.
//
// Run directly (`node bench/systems/ws-broadcast.js`, env PORT) it IS that server: it speaks the
// same slice of the Runwatch contract the benchmark uses (POST /api/executions,
// POST /api/executions/:id/events with { events: [...] }, WS subscribe → subscribed), assigns
// seq per execution in memory, and sends one `event` frame per event to every subscriber,
// serialised once. No storage, no validation, no batching, no backpressure handling.
// Imported, it is the system descriptor that starts that server in a child process.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;

async function startDescriptor({ cpu, nodeArgs = [], echo = false } = {}) {
	const { freePort, spawnNode, stopChild, waitForHttp } = await import('../lib/proc.js');
	const port = await freePort();
	const token = randomBytes(16).toString('hex');
	const { child, output } = spawnNode([fileURLToPath(import.meta.url)], {
		cpu,
		label: 'ws-broadcast',
		echo,
		nodeArgs,
		env: { PORT: String(port), BENCH_TOKEN: token }
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
	description: 'plain `ws` server, in-memory seq, one frame per event (floor)',
	start: startDescriptor
};

async function runServer() {
	const { WebSocketServer, WebSocket } = await import('ws');
	const port = Number(process.env.PORT);
	const token = process.env.BENCH_TOKEN;
	/** executionId → { lastSeq, sockets: Set<WebSocket> } */
	const executions = new Map();
	const topic = (id) => {
		let t = executions.get(id);
		if (!t) executions.set(id, (t = { lastSeq: 0, sockets: new Set() }));
		return t;
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
			for (const input of inputs) {
				const event = { seq: ++t.lastSeq, id: input.id, type: input.type, ts: input.ts ?? now, data: input.data };
				const frame = prefix + JSON.stringify(event) + '}';
				for (const ws of t.sockets) if (ws.readyState === WebSocket.OPEN) ws.send(frame);
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
