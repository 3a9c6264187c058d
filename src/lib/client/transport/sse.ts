import { serverMessageSchema, type ClientMessage } from '../../protocol/messages.js';
import { CLOSE_CODES } from '../../protocol/codes.js';
import { FORBIDDEN_REASON } from './close-policy.js';
import { checkServer, classifyStatus } from './server-check.js';
import type { Transport, TransportCallbacks, TransportFactory } from './transport.js';

/** The server's multiplexed SSE endpoint (`src/routes/api/sse`). */
export const SSE_ENDPOINT_PATH = '/api/sse';

/** Reported when the stream failed or dropped: the WebSocket code for the same thing. */
const ABNORMAL_CLOSURE = 1006;

/** The stream URL on the page's origin, carrying a share link's `?token=` like the WebSocket does. */
export function sseUrl(location: Pick<Location, 'origin' | 'search'>, path = SSE_ENDPOINT_PATH): string {
	const token = new URLSearchParams(location.search).get('token');
	return `${location.origin}${path}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

export interface SseTransportOptions {
	/** Stream URL; default `sseUrl(location)`. */
	url?: () => string;
	EventSource?: typeof EventSource;
	fetch?: typeof fetch;
}

/**
 * Server-Sent Events behind the Transport interface: server messages arrive on one EventSource,
 * client messages go out as `fetch` POSTs to the session the stream's first message names. For
 * viewers behind proxies that strip the WebSocket upgrade.
 *
 * EventSource would reconnect by itself, to a new session that knows none of our subscriptions;
 * so the first error ends this transport and the connection manager reconnects, re-subscribing
 * with the last seq of each execution, exactly as after a dropped WebSocket.
 */
class SseTransport implements Transport {
	readonly name = 'sse' as const;
	readonly id: number;
	readonly #url: string;
	readonly #EventSource: typeof EventSource;
	readonly #fetch: typeof fetch;
	#source: EventSource | undefined;
	#callbacks: TransportCallbacks | undefined;
	#postUrl: string | undefined;
	#outbox: ClientMessage[] = [];
	#flushing = false;
	#closed = false;

	constructor(id: number, url: string, EventSourceImpl: typeof EventSource, fetchImpl: typeof fetch) {
		this.id = id;
		this.#url = url;
		this.#EventSource = EventSourceImpl;
		this.#fetch = fetchImpl;
	}

	connect(callbacks: TransportCallbacks): void {
		if (this.#source || this.#closed) throw new Error('A transport connects once; create a new one to reconnect');
		this.#callbacks = callbacks;
		let source: EventSource;
		try {
			source = new this.#EventSource(this.#url);
		} catch (error) {
			const reason = error instanceof Error ? error.message : String(error);
			queueMicrotask(() => this.#finish(ABNORMAL_CLOSURE, reason));
			return;
		}
		this.#source = source;
		source.onmessage = (event: MessageEvent) => this.#receive(event.data);
		source.onerror = () => this.#failed();
	}

	/**
	 * The stream failed or ended. EventSource does not say why; before the stream ever opened, one
	 * HEAD of the same URL tells a refusal (401/403: forbidden, final) from a server that is down.
	 */
	#failed(): void {
		if (this.#closed) return;
		if (this.#postUrl) return this.#finish(ABNORMAL_CLOSURE, 'event stream failed or ended');
		this.#detach(); // no reconnecting of its own while we ask
		void checkServer(this.#url, { fetch: this.#fetch }).then((check) =>
			check === 'forbidden'
				? this.#finish(CLOSE_CODES.forbidden, FORBIDDEN_REASON)
				: this.#finish(ABNORMAL_CLOSURE, 'event stream failed')
		);
	}

	#receive(data: unknown): void {
		const callbacks = this.#callbacks;
		if (this.#closed || !callbacks) return;
		let parsed: unknown;
		try {
			parsed = JSON.parse(String(data));
		} catch {
			return callbacks.onInvalidMessage(this.id, 'message is not valid JSON');
		}
		const result = serverMessageSchema.safeParse(parsed);
		if (!result.success) return callbacks.onInvalidMessage(this.id, result.error.message);
		const message = result.data;
		if (message.type === 'session') {
			if (this.#postUrl) return; // one session per stream; onOpen fires once
			const url = new URL(this.#url);
			url.pathname = `${url.pathname.replace(/\/$/, '')}/${encodeURIComponent(message.sessionId)}`;
			this.#postUrl = url.toString();
			callbacks.onOpen(this.id);
			return;
		}
		// The server is going away and ends the stream after this: come back at once, like a
		// WebSocket closed with 1001, instead of backing off after the stream error.
		if (message.type === 'error' && message.code === 'shutting_down' && !message.executionId) {
			return this.#finish(1001, message.message);
		}
		// This viewer may no longer view (signed out, share revoked or expired); the stream ends
		// after this. What close code 4403 says on the WebSocket: do not come back.
		if (message.type === 'error' && message.code === 'forbidden' && !message.executionId) {
			return this.#finish(CLOSE_CODES.forbidden, message.message || FORBIDDEN_REASON);
		}
		callbacks.onMessage(this.id, message);
	}

	send(message: ClientMessage): void {
		if (this.#closed || !this.#postUrl) return;
		this.#outbox.push(message);
		// Messages sent in one turn (re-subscribing to everything after a reconnect) share one POST.
		if (this.#outbox.length === 1 && !this.#flushing) queueMicrotask(() => void this.#flush());
	}

	async #flush(): Promise<void> {
		if (this.#flushing || this.#closed || !this.#postUrl) return;
		this.#flushing = true;
		try {
			while (this.#outbox.length > 0 && !this.#closed) {
				const batch = this.#outbox;
				this.#outbox = [];
				const response = await this.#fetch(this.#postUrl, {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify(batch),
					credentials: 'same-origin'
				});
				if (classifyStatus(response.status) === 'forbidden') {
					return this.#finish(CLOSE_CODES.forbidden, FORBIDDEN_REASON);
				}
				// 404: the server no longer knows the session (it restarted, or the stream was cut).
				if (!response.ok) return this.#finish(ABNORMAL_CLOSURE, `sending failed with HTTP ${response.status}`);
			}
		} catch (error) {
			this.#finish(ABNORMAL_CLOSURE, error instanceof Error ? error.message : String(error));
		} finally {
			this.#flushing = false;
		}
	}

	#finish(code: number, reason: string): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#detach();
		this.#callbacks?.onClose(this.id, { code, reason });
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#detach();
	}

	#detach(): void {
		const source = this.#source;
		if (!source) return;
		source.onmessage = source.onerror = null;
		source.close();
	}
}

/** SSE transports to `/api/sse` on the page's origin. */
export function createSseTransportFactory(options: SseTransportOptions = {}): TransportFactory {
	return {
		name: 'sse',
		supported: () => (options.EventSource ?? globalThis.EventSource) !== undefined,
		create(id) {
			return new SseTransport(
				id,
				options.url ? options.url() : sseUrl(globalThis.location),
				options.EventSource ?? globalThis.EventSource,
				options.fetch ?? globalThis.fetch.bind(globalThis)
			);
		}
	};
}
