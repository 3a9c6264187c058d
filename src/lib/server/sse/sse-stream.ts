import type { ServerResponse } from 'node:http';
import { MAX_BUFFERED_BYTES, SSE_HEARTBEAT_MS, SSE_RETRY_MS } from '../../protocol/limits.js';
import type { EventBatch } from '../hub/batch.js';
import type { ViewerChannel } from '../session/viewer-session.js';

const encoder = new TextEncoder();

export interface SseStreamOptions {
	/**
	 * `events`: one SSE message per event with `id: <seq>` (the per-execution stream, for
	 * EventSource and curl). `messages`: one SSE message per server message (the dashboard's
	 * multiplexed stream, same JSON as the WebSocket frames).
	 */
	format: 'events' | 'messages';
	heartbeatMs?: number;
	/** Called once when the stream ends, whoever ended it. */
	onClose?: () => void;
	/**
	 * Write straight to this Node response (the production server's path, `node-stream.ts`)
	 * instead of a web `ReadableStream` in `body` (the SvelteKit route, `vite dev`). Its status
	 * and `SSE_HEADERS` are written at once. An idle viewer then costs what a plain Node SSE loop
	 * costs: a web stream, its controller, queue and the adapter's pump around it were twice that.
	 */
	response?: ServerResponse;
}

/**
 * A Server-Sent Events response that the hub can deliver to: a web `ReadableStream` (`body`)
 * or a Node response (`options.response`). Its queue is bounded in bytes (the hub's
 * backpressure reads `bufferedAmount`); headers for proxies are in `SSE_HEADERS`.
 */
export class SseStream implements ViewerChannel {
	readonly #body: ReadableStream<Uint8Array> | undefined;
	readonly #response: ServerResponse | undefined;
	readonly #format: SseStreamOptions['format'];
	readonly #onClose: (() => void) | undefined;
	#controller: ReadableStreamDefaultController<Uint8Array> | undefined;
	readonly #heartbeatMs: number;
	#closed = false;

	constructor(options: SseStreamOptions) {
		this.#format = options.format;
		this.#onClose = options.onClose;
		const response = options.response;
		if (response) {
			this.#response = response;
			response.writeHead(200, SSE_HEADERS);
			// The client went away, or we ended it: either way this viewer is done.
			response.on('close', () => this.#finish());
		} else {
			this.#body = new ReadableStream<Uint8Array>(
				{
					start: (controller) => {
						this.#controller = controller;
					},
					cancel: () => this.#finish()
				},
				{ highWaterMark: MAX_BUFFERED_BYTES, size: (chunk) => chunk.byteLength }
			);
		}
		// The first bytes go out at once: proxies and browsers see the stream is alive, and
		// EventSource learns how soon to reconnect.
		this.#write(`retry: ${SSE_RETRY_MS}\n: connected\n\n`);
		this.#heartbeatMs = options.heartbeatMs ?? SSE_HEARTBEAT_MS;
		joinHeartbeat(this.#heartbeatMs, this);
	}

	/** A comment line that keeps proxies from timing the idle stream out (the shared timer calls it). */
	heartbeat(): void {
		this.#write(': heartbeat\n\n');
	}

	/** The response body (web streams only; a stream on a Node response has none). */
	get body(): ReadableStream<Uint8Array> {
		if (!this.#body) throw new Error('This SSE stream writes to a Node response; it has no body');
		return this.#body;
	}

	deliver(batch: EventBatch): void {
		this.#enqueue(this.#format === 'events' ? batch.sseEventsFrame : batch.sseMessageFrame);
	}

	/** Sends one server message (`subscribed`, `error`, `pong` …) on a `messages` stream. */
	sendMessage(message: object): void {
		this.#write(`data: ${JSON.stringify(message)}\n\n`);
	}

	/**
	 * Bytes written that the client has not taken yet. On a Node response: what the response
	 * and its socket hold (`writableLength`). On a web body: what is queued in it, which is also
	 * what the socket has not accepted: SvelteKit's Node adapter reads the next chunk only after
	 * `res.write()` returned true or the socket drained, so past this queue Node holds at most
	 * one chunk and its 16 KiB high-water mark (tests/integration/limits.test.ts measures it).
	 */
	get bufferedAmount(): number {
		if (this.#closed) return 0;
		if (this.#response) return this.#response.writableLength;
		return MAX_BUFFERED_BYTES - (this.#controller!.desiredSize ?? 0);
	}

	get closed(): boolean {
		return this.#closed;
	}

	/**
	 * Ends the stream (server shutdown, or the viewer lost access), with a last message saying
	 * why, so that the client knows whether to come back. On an `events` stream it is a named
	 * `event: error`, which EventSource's `onmessage` and event readers do not take for an event.
	 */
	close(farewell?: object): void {
		if (this.#closed) return;
		if (farewell && this.#format === 'messages') this.sendMessage(farewell);
		else if (farewell) this.#write(`event: error\ndata: ${JSON.stringify(farewell)}\n\n`);
		if (this.#response) this.#response.end();
		else {
			try {
				this.#controller!.close();
			} catch {
				// already closed or errored by the reader side
			}
		}
		this.#finish();
	}

	#write(text: string): void {
		if (this.#response) {
			// Node encodes the string into the socket's buffer: no copy of ours to keep.
			if (!this.#closed) this.#response.write(text);
		} else this.#enqueue(encoder.encode(text));
	}

	#enqueue(chunk: Uint8Array): void {
		if (this.#closed) return;
		if (this.#response) {
			this.#response.write(chunk);
			return;
		}
		try {
			this.#controller!.enqueue(chunk);
		} catch {
			this.#finish();
		}
	}

	#finish(): void {
		if (this.#closed) return;
		this.#closed = true;
		leaveHeartbeat(this.#heartbeatMs, this);
		this.#onClose?.();
	}
}

/**
 * One heartbeat timer per interval for all streams rather than one per stream: an idle viewer is
 * memory, and a timer of its own was part of it. A stream's first heartbeat comes within one
 * interval of its opening, and then every interval.
 */
const heartbeats = new Map<number, { timer: NodeJS.Timeout; streams: Set<SseStream> }>();

function joinHeartbeat(ms: number, stream: SseStream): void {
	let group = heartbeats.get(ms);
	if (!group) {
		const streams = new Set<SseStream>();
		const timer = setInterval(() => {
			for (const member of streams) member.heartbeat();
		}, ms);
		timer.unref();
		heartbeats.set(ms, (group = { timer, streams }));
	}
	group.streams.add(stream);
}

function leaveHeartbeat(ms: number, stream: SseStream): void {
	const group = heartbeats.get(ms);
	if (!group?.streams.delete(stream) || group.streams.size > 0) return;
	clearInterval(group.timer);
	heartbeats.delete(ms);
}

/** Headers that keep proxies, CDNs and compression middleware from buffering the stream. */
export const SSE_HEADERS: Record<string, string> = {
	'content-type': 'text/event-stream; charset=utf-8',
	'cache-control': 'no-cache, no-transform',
	connection: 'keep-alive',
	'x-accel-buffering': 'no',
	// Compression would hold bytes back until a block fills.
	'content-encoding': 'identity'
};
