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
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createPublishServer, exitWithParent, startPeer } from '../lib/peer-server.js';

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;

export default {
	name: 'socketio',
	label: 'Socket.IO 4 (rooms)',
	kind: 'sio',
	storage: false,
	description: 'Socket.IO 4 server, default settings, one room per execution, one emit per event',
	start: (options = {}) => startPeer({ ...options, file: fileURLToPath(import.meta.url), label: 'socketio', wsPath: '' })
};

async function runServer() {
	const { Server } = await import('socket.io');
	const publish = createPublishServer({
		token: process.env.BENCH_TOKEN,
		onEvents(executionId, events) {
			const room = io.to(executionId);
			for (const event of events) room.emit('event', { executionId, event });
		}
	});

	// Default settings (transports polling + websocket, no compression, 25 s pings).
	const io = new Server(publish.server);
	io.on('connection', (socket) => {
		socket.on('subscribe', (msg) => {
			const executionId = msg?.executionId;
			if (typeof executionId !== 'string') return;
			socket.join(executionId);
			socket.emit('subscribed', { executionId, lastSeq: publish.lastSeq(executionId) });
		});
	});

	publish.server.listen(Number(process.env.PORT), '127.0.0.1');
	exitWithParent(() => {
		io.close();
		publish.server.closeAllConnections?.();
		process.exit(0);
	});
}

if (isMain) await runServer();
