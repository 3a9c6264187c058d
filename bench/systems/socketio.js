// Peer system: Socket.IO 4 with default settings, one room per execution.
//
// Run directly (`node bench/systems/socketio.js`, env PORT, BENCH_TOKEN) it IS that server: the
// same slice of the Runwatch contract as bench/systems/ws-broadcast.js for publishing
// (POST /api/executions, POST /api/executions/:id/events with one event or { events: [...] },
// Bearer token, in-memory seq per execution), and for viewers a Socket.IO `subscribe`
// ({ executionId }) that joins the execution's room and answers `subscribed`. Every event is
// one `io.to(room).emit('event', { executionId, event })`: what a team would write with
// Socket.IO. No storage, no validation.
// Imported, it is the system descriptor that starts that server in a child process.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;

export default {
	name: 'socketio',
	label: 'Socket.IO 4 (rooms)',
	kind: 'sio',
	storage: false,
	description: 'Socket.IO 4 server, default settings, one room per execution, one emit per event',
	async start({ cpu, nodeArgs = [], echo = false } = {}) {
		const { freePort, spawnNode, stopChild, waitForHttp } = await import('../lib/proc.js');
		const port = await freePort();
		const token = randomBytes(16).toString('hex');
		const { child, output } = spawnNode([fileURLToPath(import.meta.url)], {
			cpu,
			label: 'socketio',
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
		return { pid: child.pid, baseUrl, wsUrl: `ws://127.0.0.1:${port}`, token, output, stop: () => stopChild(child, 5000) };
	}
};

async function runServer() {
	const { Server } = await import('socket.io');
	const port = Number(process.env.PORT);
	const token = process.env.BENCH_TOKEN;
	/** executionId → lastSeq */
	const executions = new Map();

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
				if (!executions.has(id)) executions.set(id, 0);
				return send(res, 201, { id });
			}
			const m = /^\/api\/executions\/([A-Za-z0-9_-]{1,64})\/events$/.exec(req.url ?? '');
			if (!m) return send(res, 404, { error: { code: 'not_found', message: 'no' } });
			const executionId = m[1];
			let lastSeq = executions.get(executionId) ?? 0;
			const inputs = Array.isArray(body.events) ? body.events : [body];
			const now = new Date().toISOString();
			const room = io.to(executionId);
			for (const input of inputs) {
				const event = { seq: ++lastSeq, id: input.id, type: input.type, ts: input.ts ?? now, data: input.data };
				room.emit('event', { executionId, event });
			}
			executions.set(executionId, lastSeq);
			send(res, 200, { accepted: inputs.length, lastSeq });
		} catch (error) {
			send(res, 400, { error: { code: 'bad_request', message: String(error?.message ?? error) } });
		}
	});

	// Default settings (transports polling + websocket, no compression, 25 s pings).
	const io = new Server(server);
	io.on('connection', (socket) => {
		socket.on('subscribe', (msg) => {
			const executionId = msg?.executionId;
			if (typeof executionId !== 'string') return;
			socket.join(executionId);
			socket.emit('subscribed', { executionId, lastSeq: executions.get(executionId) ?? 0 });
		});
	});

	server.listen(port, '127.0.0.1');
	const stop = () => {
		io.close();
		server.closeAllConnections?.();
		process.exit(0);
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	process.stdin.on('end', stop);
	process.stdin.on('error', stop);
	process.stdin.resume();
}

if (isMain) await runServer();
