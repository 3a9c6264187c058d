import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { CLOSE_CODES, type ErrorCode } from '../../protocol/codes.js';
import {
	MAX_SUBSCRIPTIONS_PER_CONNECTION,
	WS_MAX_PAYLOAD_BYTES,
	WS_PING_INTERVAL_MS
} from '../../protocol/limits.js';
import { clientMessageSchema, type ClientMessage } from '../../protocol/messages.js';
import { describeZodError, normaliseError, RunwatchError } from '../errors.js';
import type { EventBatch } from '../hub/batch.js';
import type { Hub, Subscription } from '../hub/hub.js';
import type { Sink } from '../hub/sink.js';
import type { Access } from '../http/access.js';
import { isSameOrigin } from '../http/access.js';
import type { Store } from '../store/store.js';

export const WS_PATH = '/api/ws';

export interface WsServerOptions {
	hub: Hub;
	store: Store;
	access: Access;
	/** The configured public origin (ORIGIN), also accepted as a browser Origin. */
	origin?: string;
	pingIntervalMs?: number;
	maxSubscriptions?: number;
}

/** One browser (or other viewer) on a WebSocket. */
class ViewerSocket implements Sink {
	readonly ws: WebSocket;
	readonly subscriptions = new Map<string, Subscription>();
	isAlive = true;
	/** Frames are handled one after another: a subscribe's store read must finish before the next frame. */
	queue: Promise<void> = Promise.resolve();

	constructor(ws: WebSocket) {
		this.ws = ws;
	}

	deliver(batch: EventBatch): void {
		if (this.ws.readyState === WebSocket.OPEN) this.ws.send(batch.wsFrame, { binary: false });
	}

	get bufferedAmount(): number {
		return this.ws.bufferedAmount;
	}

	get closed(): boolean {
		return this.ws.readyState !== WebSocket.OPEN;
	}

	sendJson(message: object): void {
		if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
	}

	sendError(code: ErrorCode, message: string, executionId?: string): void {
		this.sendJson(executionId ? { type: 'error', code, message, executionId } : { type: 'error', code, message });
	}
}

function rejectUpgrade(socket: Duplex, status: number, reason: string, body: object): void {
	const text = JSON.stringify(body);
	socket.end(
		`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`
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
		const credentials = {
			authorization: request.headers.authorization,
			cookie: request.headers.cookie,
			queryToken: url.searchParams.get('token')
		};
		if (!this.#options.access.canView(credentials)) {
			rejectUpgrade(socket, 401, 'Unauthorized', {
				error: { code: 'unauthorized', message: 'Sign in or use a share link to view executions' }
			});
			return true;
		}
		this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws));
		return true;
	}

	#accept(ws: WebSocket): void {
		const viewer = new ViewerSocket(ws);
		this.#viewers.add(viewer);
		ws.on('pong', () => {
			viewer.isAlive = true;
		});
		ws.on('message', (data, isBinary) => {
			viewer.isAlive = true;
			viewer.queue = viewer.queue.then(() => this.#onMessage(viewer, data, isBinary));
		});
		ws.on('error', () => {
			// 'close' follows; a too-big frame already closed the socket with 1009.
		});
		ws.on('close', () => {
			this.#viewers.delete(viewer);
			for (const subscription of viewer.subscriptions.values()) this.#options.hub.unsubscribe(subscription);
			viewer.subscriptions.clear();
		});
	}

	async #onMessage(viewer: ViewerSocket, data: RawData, isBinary: boolean): Promise<void> {
		if (isBinary) return viewer.sendError('bad_request', 'Send JSON text frames, not binary ones');
		let parsed: unknown;
		try {
			parsed = JSON.parse(data.toString());
		} catch {
			return viewer.sendError('bad_request', 'Frame is not valid JSON');
		}
		const result = clientMessageSchema.safeParse(parsed);
		if (!result.success) {
			const executionId =
				typeof (parsed as { executionId?: unknown })?.executionId === 'string'
					? (parsed as { executionId: string }).executionId
					: undefined;
			return viewer.sendError('bad_request', `Invalid message: ${describeZodError(result.error)}`, executionId?.slice(0, 64));
		}
		try {
			await this.#handle(viewer, result.data);
		} catch (error) {
			const e = normaliseError(error);
			viewer.sendError(e.code, e.message, 'executionId' in result.data ? result.data.executionId : undefined);
		}
	}

	async #handle(viewer: ViewerSocket, message: ClientMessage): Promise<void> {
		const { hub, store } = this.#options;
		switch (message.type) {
			case 'ping':
				return viewer.sendJson({ type: 'pong' });
			case 'unsubscribe': {
				const subscription = viewer.subscriptions.get(message.executionId);
				if (subscription) {
					hub.unsubscribe(subscription);
					viewer.subscriptions.delete(message.executionId);
				}
				return;
			}
			case 'subscribe': {
				const { executionId } = message;
				const existing = viewer.subscriptions.get(executionId);
				const limit = this.#options.maxSubscriptions ?? MAX_SUBSCRIPTIONS_PER_CONNECTION;
				if (!existing && viewer.subscriptions.size >= limit) {
					throw new RunwatchError(
						'too_many_subscriptions',
						`A connection may follow at most ${limit} executions; unsubscribe from one first`
					);
				}
				const execution = await store.getExecution(executionId);
				if (!execution) throw new RunwatchError('not_found', `No execution "${executionId}"`);
				if (viewer.closed) return;
				if (existing) hub.unsubscribe(existing);
				// No `since`: live from now. A `since` past the end (the client saw a different,
				// since-reset database) is clamped, and `subscribed.lastSeq` tells the client so.
				const since = Math.min(message.since ?? execution.lastSeq, execution.lastSeq);
				viewer.sendJson({ type: 'subscribed', executionId, lastSeq: execution.lastSeq });
				viewer.subscriptions.set(executionId, hub.subscribe(viewer, executionId, since));
				return;
			}
		}
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
