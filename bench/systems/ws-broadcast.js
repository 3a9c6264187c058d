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
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createPublishServer, exitWithParent, startPeer } from '../lib/peer-server.js';

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;

/** Starts the server in a child process. framing: 'event' (one frame per event), 'batch' (one per POST), 'tick' (one per 10 ms). */
export function startWsBroadcast({ framing = 'event', ...options } = {}) {
	return startPeer({
		...options,
		file: fileURLToPath(import.meta.url),
		label: `ws-broadcast(${framing})`,
		wsPath: '/api/ws',
		env: { BENCH_FRAMING: framing }
	});
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
	const framing = process.env.BENCH_FRAMING;
	const TICK_MS = 10;
	/** executionId → { sockets: Set<WebSocket>, pending: events not yet sent (tick framing) } */
	const executions = new Map();
	const topic = (id) => {
		let t = executions.get(id);
		if (!t) executions.set(id, (t = { id, sockets: new Set(), pending: [] }));
		return t;
	};
	const sendAll = (t, frame) => {
		for (const ws of t.sockets) if (ws.readyState === WebSocket.OPEN) ws.send(frame);
	};
	const eventsFrame = (executionId, events) =>
		`{"type":"events","executionId":${JSON.stringify(executionId)},"events":${JSON.stringify(events)}}`;
	const dirty = new Set();
	let tickTimer;
	const flushTick = () => {
		tickTimer = undefined;
		for (const t of dirty) {
			sendAll(t, eventsFrame(t.id, t.pending));
			t.pending = [];
		}
		dirty.clear();
	};

	const publish = createPublishServer({
		token: process.env.BENCH_TOKEN,
		onCreate: topic,
		onEvents(executionId, events) {
			const t = topic(executionId);
			if (framing === 'tick') {
				// Collected per execution, one `events` frame per 10 ms tick, serialised once.
				t.pending.push(...events);
				dirty.add(t);
				tickTimer ??= setTimeout(flushTick, TICK_MS);
			} else if (framing === 'batch') {
				// One `events` frame per POST, serialised once: the same framing as Runwatch's hub.
				sendAll(t, eventsFrame(executionId, events));
			} else {
				const prefix = `{"type":"event","executionId":${JSON.stringify(executionId)},"event":`;
				for (const event of events) sendAll(t, prefix + JSON.stringify(event) + '}');
			}
		}
	});

	const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
	publish.server.on('upgrade', (req, socket, head) => {
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
					ws.send(JSON.stringify({ type: 'subscribed', executionId: msg.executionId, lastSeq: publish.lastSeq(msg.executionId) }));
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

	publish.server.listen(Number(process.env.PORT), '127.0.0.1');
	exitWithParent(() => {
		publish.server.closeAllConnections?.();
		process.exit(0);
	});
}

if (isMain) await runServer();
