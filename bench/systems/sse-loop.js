// Baseline system: a plain Node SSE loop, "what Node costs" to hold an SSE viewer (issue 11:
// an idle Runwatch SSE viewer against it). The textbook loop: `GET /api/executions/:id/stream`
// writes the SSE headers and a first line, keeps the response in a per-execution Set with a
// 15 s heartbeat interval of its own, and removes it on `close`; every POSTed event goes to every
// response of its execution as `id: <seq>\ndata: <json>\n\n`, serialised once. No storage, no
// replay, no access check, no backpressure.
//
// Run directly (`node bench/systems/sse-loop.js`, env PORT) it IS that server; imported, it is
// the system descriptor that starts it in a child process.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createPublishServer, exitWithParent, startPeer } from '../lib/peer-server.js';

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;

export default {
	name: 'sse-loop',
	label: 'plain Node SSE loop',
	kind: 'sse',
	storage: false,
	description: 'plain Node http SSE loop, in-memory seq, one message per event (floor)',
	start: (options) => startPeer({ ...options, file: fileURLToPath(import.meta.url), label: 'sse-loop', wsPath: '/' })
};

function runServer() {
	const STREAM_PATH = /^\/api\/executions\/([A-Za-z0-9_-]{1,64})\/stream$/;
	/** executionId → Set<ServerResponse> */
	const viewers = new Map();
	const publish = createPublishServer({
		token: process.env.BENCH_TOKEN,
		onRequest(req, res) {
			const m = req.method === 'GET' ? STREAM_PATH.exec(req.url ?? '') : null;
			if (!m) return false;
			const id = m[1];
			let set = viewers.get(id);
			if (!set) viewers.set(id, (set = new Set()));
			res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
			res.write('retry: 1000\n: connected\n\n');
			set.add(res);
			const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), 15000);
			req.on('close', () => {
				clearInterval(heartbeat);
				set.delete(res);
			});
			return true;
		},
		onEvents(executionId, events) {
			const set = viewers.get(executionId);
			if (!set) return;
			for (const event of events) {
				const message = `id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`;
				for (const res of set) res.write(message);
			}
		}
	});
	publish.server.listen(Number(process.env.PORT), '127.0.0.1');
	exitWithParent(() => {
		publish.server.closeAllConnections?.();
		process.exit(0);
	});
}

if (isMain) runServer();
