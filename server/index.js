// Production entry: `npm start` (after `npm run build`). It wraps adapter-node's handler in our
// own HTTP server so that WebSocket upgrades on /api/ws reach the hub, binds to 127.0.0.1 unless
// HOST says otherwise, and shuts down gracefully on SIGTERM/SIGINT.
import http from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { responseWithHeaders } from './secure-response.js';

// `build/` unless RUNWATCH_BUILD_DIR says otherwise (`npm test` serves its own build from there).
const buildDir = process.env.RUNWATCH_BUILD_DIR
	? resolve(process.env.RUNWATCH_BUILD_DIR)
	: fileURLToPath(new URL('../build', import.meta.url));
const handlerFile = join(buildDir, 'handler.js');
if (!existsSync(handlerFile)) {
	console.error(`No production build found in ${buildDir}. Run \`npm run build\` first (or \`npm run dev\` for development).`);
	process.exit(1);
}

// Our API enforces its own, documented body limit and answers in JSON; adapter-node's default
// 512 KB limit would answer first, as text.
process.env.BODY_SIZE_LIMIT ??= 'Infinity';
// Without ORIGIN, adapter-node assumes https unless a header says otherwise. This server speaks
// plain http; behind a TLS proxy, its X-Forwarded-Proto (or ORIGIN) says https.
const PROTOCOL_HEADER = 'x-runwatch-proto';
if (!process.env.ORIGIN) process.env.PROTOCOL_HEADER = PROTOCOL_HEADER;

let handler;
try {
	// Importing the handler initialises SvelteKit, whose `init` hook creates the runtime.
	({ handler } = await import(handlerFile));
} catch (error) {
	console.error(`Runwatch could not start: ${error instanceof Error ? error.message : error}`);
	process.exit(1);
}

/** @type {import('../src/lib/server/runtime').Runtime} */
const runtime = globalThis[Symbol.for('runwatch.runtime')];
if (!runtime) {
	console.error('Runwatch runtime was not created by the server hooks; is build/ from this project?');
	process.exit(1);
}

// Security headers on every response, the Node-level paths' and static files' included, added as
// the head is written (secure-response.js); SvelteKit's own answers carry them already (pages
// with their nonce-bearing policy, from hooks.server.ts), and those are kept.
const server = http.createServer({ ServerResponse: responseWithHeaders(runtime.securityHeaders) }, (request, response) => {
	const forwarded = request.headers['x-forwarded-proto'];
	request.headers[PROTOCOL_HEADER] = forwarded === 'https' ? 'https' : 'http';
	// Ingest skips SvelteKit (same checks and code, less per-request work); everything else is SvelteKit's.
	if (runtime.handleFastPath(request, response)) return;
	handler(request, response);
});
// An idle keep-alive connection stays open longer than the idle timeout of whatever proxies to
// this node (nginx's upstream keepalive_timeout and the usual cloud balancer: 60 s), so that the
// proxy always closes it first. With Node's default of 5 s, the node would close connections the
// proxy still counts on, and a request sent on one as it closes is reset: nginx answers a POST
// 502 without trying another node. headersTimeout must outlast it (Node checks both on one timer).
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
server.on('upgrade', (request, socket, head) => {
	if (!runtime.ws.handleUpgrade(request, socket, head)) {
		socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
	}
});

const { host, port } = runtime.config;
server.on('error', (error) => {
	console.error(
		error.code === 'EADDRINUSE'
			? `Port ${port} on ${host} is already in use. Stop the other server or set PORT.`
			: `Server error: ${error.message}`
	);
	process.exit(1);
});
server.listen(port, host, () => {
	const address = server.address();
	const url = runtime.config.origin ?? `http://${shownHost(address)}:${address.port}`;
	console.log(runtime.banner(url));
});

/**
 * The address people reach this server at: the bound one, or for a wildcard bind (0.0.0.0, ::)
 * this machine's first network address, since 127.0.0.1 would only work from this machine.
 */
function shownHost(address) {
	const wildcard = address.address === '0.0.0.0' || address.address === '::';
	if (!wildcard) return address.family === 'IPv6' ? `[${address.address}]` : address.address;
	const external = Object.values(networkInterfaces())
		.flat()
		.find((a) => a && !a.internal && a.family === 'IPv4');
	return external?.address ?? hostname();
}

let stopping = false;
async function stop(signal) {
	if (stopping) return;
	stopping = true;
	console.log(`${signal}: finishing in-flight work and closing connections…`);
	server.close(); // no new connections
	server.closeIdleConnections();
	const force = setTimeout(() => {
		console.error('Shutdown took too long; exiting.');
		process.exit(1);
	}, 15_000);
	force.unref();
	await runtime.shutdown();
	server.closeAllConnections();
	clearTimeout(force);
	process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
