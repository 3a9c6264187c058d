// What the peer systems (bench/systems/ws-broadcast.js, socketio.js) share: the slice of the
// Runwatch publishing API the benchmark uses, the child-process start, and exiting with the parent.
// Each peer adds only how it fans events out.
import http from 'node:http';
import { randomBytes } from 'node:crypto';

const EVENTS_PATH = /^\/api\/executions\/([A-Za-z0-9_-]{1,64})\/events$/;

/**
 * An HTTP server taking POST /api/executions and POST /api/executions/:id/events (one event or
 * { events: [...] }) with a Bearer token, assigning seq per execution in memory. No storage, no
 * validation: the floor the peers stand for.
 * `onRequest` sees every request first and returns true for those it answers itself (the SSE
 * peer's GET streams).
 * @param {{ token: string, onCreate?: (id: string) => void, onEvents: (executionId: string, events: object[]) => void, onRequest?: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => boolean }} options
 */
export function createPublishServer({ token, onCreate = () => {}, onEvents, onRequest = () => false }) {
	/** executionId → lastSeq */
	const seqs = new Map();
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
			if (onRequest(req, res)) return;
			if (req.method === 'GET' && req.url === '/health') return send(res, 200, { ok: true });
			if (req.method !== 'POST') return send(res, 404, { error: { code: 'not_found', message: 'no' } });
			if (req.headers.authorization !== `Bearer ${token}`) {
				return send(res, 401, { error: { code: 'unauthorized', message: 'token' } });
			}
			const body = JSON.parse((await readBody(req)) || '{}');
			if (req.url === '/api/executions') {
				const id = body.id ?? randomBytes(16).toString('base64url');
				if (!seqs.has(id)) seqs.set(id, 0);
				onCreate(id);
				return send(res, 201, { id });
			}
			const m = EVENTS_PATH.exec(req.url ?? '');
			if (!m) return send(res, 404, { error: { code: 'not_found', message: 'no' } });
			const executionId = m[1];
			let lastSeq = seqs.get(executionId) ?? 0;
			const inputs = Array.isArray(body.events) ? body.events : [body];
			const now = new Date().toISOString();
			const events = inputs.map((input) => ({ seq: ++lastSeq, id: input.id, type: input.type, ts: input.ts ?? now, data: input.data }));
			seqs.set(executionId, lastSeq);
			onEvents(executionId, events);
			send(res, 200, { accepted: inputs.length, lastSeq });
		} catch (error) {
			send(res, 400, { error: { code: 'bad_request', message: String(error?.message ?? error) } });
		}
	});
	return { server, lastSeq: (id) => seqs.get(id) ?? 0 };
}

/** Runs `stop` on SIGTERM/SIGINT, and when the parent (which holds our stdin) goes away. */
export function exitWithParent(stop) {
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	process.stdin.on('end', stop);
	process.stdin.on('error', stop);
	process.stdin.resume();
}

/**
 * Starts a peer server file in a child process (pinned to `cpu`) and waits for /health.
 * @param {{ file: string, label: string, wsPath: string, env?: Record<string, string>, cpu?: number, nodeArgs?: string[], echo?: boolean }} options
 */
export async function startPeer({ file, label, wsPath, env = {}, cpu, nodeArgs = [], echo = false }) {
	const { freePort, spawnNode, stopChild, waitForHttp } = await import('./proc.js');
	const port = await freePort();
	const token = randomBytes(16).toString('hex');
	const { child, output } = spawnNode([file], {
		cpu,
		label,
		echo,
		nodeArgs,
		env: { PORT: String(port), BENCH_TOKEN: token, ...env }
	});
	const baseUrl = `http://127.0.0.1:${port}`;
	try {
		await waitForHttp(`${baseUrl}/health`, { child, output });
	} catch (error) {
		await stopChild(child, 1000);
		throw error;
	}
	return { pid: child.pid, baseUrl, wsUrl: `ws://127.0.0.1:${port}${wsPath}`, token, output, stop: () => stopChild(child, 5000) };
}
