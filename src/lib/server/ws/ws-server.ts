import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import { CLOSE_CODES } from '../../protocol/codes.js';
import { WS_MAX_PAYLOAD_BYTES, WS_PING_INTERVAL_MS } from '../../protocol/limits.js';
import type { EventBatch } from '../hub/batch.js';
import type { Hub } from '../hub/hub.js';
import { ViewerSession, type ViewerChannel } from '../session/viewer-session.js';
import { forbiddenMessage, type Access, type Principal } from '../access/access.js';
import { credentialsOfNode, isSameOrigin } from '../access/credentials.js';
import type { Store } from '../store/store.js';
import { RunwatchError } from '../errors.js';
import type { ConnectionLimiter } from '../limits/connection-limiter.js';
import { REFERRER_POLICY } from '../http/security-headers.js';

export const WS_PATH = '/api/ws';

export interface WsServerOptions {
	hub: Hub;
	store: Store;
	access: Access;
	/** The configured public origin (ORIGIN), also accepted as a browser Origin. */
	origin?: string;
	pingIntervalMs?: number;
	maxSubscriptions?: number;
	/** Live streams per client address, shared with SSE; absent: not counted. */
	connections?: ConnectionLimiter;
	/** The client's address (the socket's, or a trusted proxy's header). */
	clientAddress?: (request: IncomingMessage) => string;
}

/** One browser (or other viewer) on a WebSocket. */
class ViewerSocket implements ViewerChannel {
	readonly ws: WebSocket;
	isAlive = true;

	constructor(ws: WebSocket) {
		this.ws = ws;
	}

	deliver(batch: EventBatch): void {
		if (this.ws.readyState === WebSocket.OPEN) this.ws.send(batch.wsFrame, { binary: false });
	}

	sendMessage(message: object): void {
		if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
	}

	get bufferedAmount(): number {
		return this.ws.bufferedAmount;
	}

	get closed(): boolean {
		return this.ws.readyState !== WebSocket.OPEN;
	}
}

function rejectUpgrade(socket: Duplex, status: number, reason: string, body: object, headers: Record<string, string> = {}): void {
	const text = JSON.stringify(body);
	const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
	socket.end(
		`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
			`X-Content-Type-Options: nosniff\r\nReferrer-Policy: ${REFERRER_POLICY}\r\n${extra}Connection: close\r\n\r\n${text}`
	);
}

/**
 * The `/api/ws` endpoint. SvelteKit never sees upgrade requests, so everything a hook would do
 * (origin check, authorization) happens here, before the upgrade completes.
 */
export class WsServer {
	readonly #wss: WebSocketServer;
	readonly #options: WsServerOptions;
	readonly #viewers = new Set<ViewerSocket>();
	readonly #pingTimer: NodeJS.Timeout;
	#closing = false;

	constructor(options: WsServerOptions) {
		this.#options = options;
		this.#wss = new WebSocketServer({
			noServer: true,
			maxPayload: WS_MAX_PAYLOAD_BYTES,
			// Viewer frames are tiny and events are compressed better by batching than by deflate,
			// which costs CPU and memory per socket.
			perMessageDeflate: false,
			clientTracking: false
		});
		this.#pingTimer = setInterval(() => this.#heartbeat(), options.pingIntervalMs ?? WS_PING_INTERVAL_MS);
		this.#pingTimer.unref();
	}

	get connectionCount(): number {
		return this.#viewers.size;
	}

	/** Takes an HTTP upgrade for `/api/ws`. Returns false (and does nothing) for other paths. */
	handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
		const url = new URL(request.url ?? '/', 'http://localhost');
		if (url.pathname !== WS_PATH) return false;
		if (this.#closing) {
			rejectUpgrade(socket, 503, 'Service Unavailable', { error: { code: 'shutting_down', message: 'Server is shutting down' } });
			return true;
		}
		if (!isSameOrigin(request.headers.origin, request.headers.host, this.#options.origin)) {
			rejectUpgrade(socket, 403, 'Forbidden', {
				error: { code: 'forbidden', message: `WebSocket connections from origin ${request.headers.origin} are not allowed` }
			});
			return true;
		}
		void this.#upgrade(request, socket, head);
		return true;
	}

	async #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
		let principal: Principal;
		try {
			principal = await this.#options.access.resolve(credentialsOfNode(request));
		} catch (error) {
			console.error('[runwatch] access check failed:', error);
			return rejectUpgrade(socket, 503, 'Service Unavailable', { error: { code: 'internal', message: 'Try again in a moment' } });
		}
		if (socket.destroyed) return;
		if (this.#options.connections) {
			const address = this.#options.clientAddress?.(request) ?? request.socket.remoteAddress ?? 'unknown';
			let release: () => void;
			try {
				release = this.#options.connections.acquire(address);
			} catch (error) {
				if (!(error instanceof RunwatchError)) throw error;
				return rejectUpgrade(socket, 429, 'Too Many Requests', { error: { code: error.code, message: error.message } }, {
					'Retry-After': String(error.retryAfterSeconds ?? 1)
				});
			}
			// The socket's end covers every way out: a handshake that fails, a close, a terminate.
			socket.once('close', release);
		}
		this.#wss.handleUpgrade(request, socket, head, (ws) => {
			// Refused viewers get a WebSocket close, not an HTTP 401: a browser sees only 1006 for a
			// refused upgrade and cannot tell it from a network failure, while 4403 says "stop
			// retrying, sign in".
			if (this.#closing) return ws.close(CLOSE_CODES.goingAway, 'server shutting down');
			if (principal.kind === 'anonymous') return ws.close(CLOSE_CODES.forbidden, 'Sign in or use a share link to view executions');
			this.#accept(ws, principal);
		});
	}

	#accept(ws: WebSocket, principal: Principal): void {
		const { access } = this.#options;
		const viewer = new ViewerSocket(ws);
		const session = new ViewerSession(viewer, {
			hub: this.#options.hub,
			store: this.#options.store,
			mayView: (executionId) => access.mayView(principal, executionId),
			maxSubscriptions: this.#options.maxSubscriptions
		});
		const untrack = access.track(principal, (reason) => ws.close(CLOSE_CODES.forbidden, forbiddenMessage(reason)));
		this.#viewers.add(viewer);
		ws.on('pong', () => {
			viewer.isAlive = true;
		});
		ws.on('message', (data, isBinary) => {
			viewer.isAlive = true;
			if (isBinary) return session.sendError('bad_request', 'Send JSON text frames, not binary ones');
			let parsed: unknown;
			try {
				parsed = JSON.parse(data.toString());
			} catch {
				return session.sendError('bad_request', 'Frame is not valid JSON');
			}
			void session.receive(parsed);
		});
		ws.on('error', () => {
			// 'close' follows; a too-big frame already closed the socket with 1009.
		});
		ws.on('close', () => {
			this.#viewers.delete(viewer);
			untrack();
			session.close();
		});
	}

	#heartbeat(): void {
		for (const viewer of this.#viewers) {
			if (!viewer.isAlive) {
				viewer.ws.terminate();
				continue;
			}
			viewer.isAlive = false;
			viewer.ws.ping();
		}
	}

	/** Closes every socket with 1001 so clients reconnect at once (to another node, or this one restarted). */
	async close(): Promise<void> {
		this.#closing = true;
		clearInterval(this.#pingTimer);
		for (const viewer of this.#viewers) viewer.ws.close(CLOSE_CODES.goingAway, 'server shutting down');
		const deadline = Date.now() + 2000;
		while (this.#viewers.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
		for (const viewer of this.#viewers) viewer.ws.terminate();
		this.#wss.close();
	}
}
