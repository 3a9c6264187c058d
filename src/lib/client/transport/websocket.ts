import { serverMessageSchema } from '../../protocol/messages.js';
import type { ClientMessage } from '../../protocol/messages.js';
import type { Transport, TransportCallbacks, TransportFactory } from './transport.js';

/** Path of the server's WebSocket endpoint (`WS_PATH` on the server). */
export const WS_ENDPOINT_PATH = '/api/ws';

/** Close code a browser reports when a socket failed or dropped without a close frame. */
const ABNORMAL_CLOSURE = 1006;

/**
 * The `/api/ws` URL on the page's own origin. A share link's `?token=` is carried over: the
 * upgrade request cannot carry a header, and the server checks the same token there.
 */
export function webSocketUrl(location: Pick<Location, 'protocol' | 'host' | 'search'>): string {
	const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
	const token = new URLSearchParams(location.search).get('token');
	const query = token ? `?token=${encodeURIComponent(token)}` : '';
	return `${scheme}//${location.host}${WS_ENDPOINT_PATH}${query}`;
}

export interface WebSocketTransportOptions {
	/** Where to connect; resolved at each connect so a changed page URL is honoured. Default: `webSocketUrl(location)`. */
	url?: () => string;
	/** The WebSocket constructor (tests pass a fake). Default: the global one. */
	WebSocket?: typeof WebSocket;
}

class WebSocketTransport implements Transport {
	readonly name = 'websocket' as const;
	readonly id: number;
	readonly #url: string;
	readonly #WebSocket: typeof WebSocket;
	#socket: WebSocket | undefined;
	#callbacks: TransportCallbacks | undefined;
	#closed = false;

	constructor(id: number, url: string, WebSocketImpl: typeof WebSocket) {
		this.id = id;
		this.#url = url;
		this.#WebSocket = WebSocketImpl;
	}

	connect(callbacks: TransportCallbacks): void {
		if (this.#socket || this.#closed) throw new Error('A transport connects once; create a new one to reconnect');
		this.#callbacks = callbacks;
		let socket: WebSocket;
		try {
			socket = new this.#WebSocket(this.#url);
		} catch (error) {
			// A malformed URL or a blocked port throws synchronously; report it like a failed connect,
			// but after this call returns so the manager sees one consistent order of events.
			const reason = error instanceof Error ? error.message : String(error);
			queueMicrotask(() => this.#finish(ABNORMAL_CLOSURE, reason));
			return;
		}
		this.#socket = socket;
		socket.onopen = () => {
			if (!this.#closed) callbacks.onOpen(this.id);
		};
		socket.onmessage = (event: MessageEvent) => this.#receive(event.data);
		// 'error' carries no detail in browsers and is always followed by 'close'.
		socket.onerror = null;
		socket.onclose = (event: CloseEvent) => this.#finish(event.code || ABNORMAL_CLOSURE, event.reason);
	}

	#receive(data: unknown): void {
		const callbacks = this.#callbacks;
		if (this.#closed || !callbacks) return;
		if (typeof data !== 'string') return callbacks.onInvalidMessage(this.id, 'binary frame');
		let parsed: unknown;
		try {
			parsed = JSON.parse(data);
		} catch {
			return callbacks.onInvalidMessage(this.id, 'frame is not valid JSON');
		}
		const result = serverMessageSchema.safeParse(parsed);
		if (!result.success) return callbacks.onInvalidMessage(this.id, result.error.message);
		callbacks.onMessage(this.id, result.data);
	}

	#finish(code: number, reason: string): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#detach();
		this.#callbacks?.onClose(this.id, { code, reason });
	}

	send(message: ClientMessage): void {
		const socket = this.#socket;
		if (this.#closed || !socket || socket.readyState !== this.#WebSocket.OPEN) return;
		socket.send(JSON.stringify(message));
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		const socket = this.#detach();
		if (socket && socket.readyState !== this.#WebSocket.CLOSED) socket.close(1000, 'client closed');
	}

	#detach(): WebSocket | undefined {
		const socket = this.#socket;
		if (socket) {
			socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
		}
		return socket;
	}
}

/** WebSocket transports to `/api/ws` on the page's origin. */
export function createWebSocketTransportFactory(options: WebSocketTransportOptions = {}): TransportFactory {
	return {
		name: 'websocket',
		supported: () => (options.WebSocket ?? globalThis.WebSocket) !== undefined,
		create(id) {
			const WebSocketImpl = options.WebSocket ?? globalThis.WebSocket;
			const url = options.url ? options.url() : webSocketUrl(globalThis.location);
			return new WebSocketTransport(id, url, WebSocketImpl);
		}
	};
}
