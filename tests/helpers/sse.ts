/**
 * A Server-Sent Events test client over Node's fetch: parses the stream by hand (as the
 * EventSource spec says), keeps every message and comment, can pause reading, and can be cut
 * at any moment like a dropped connection.
 */

export interface SseMessage {
	/** The `id:` field, when the message had one. */
	id: string | undefined;
	event: string;
	data: string;
}

export interface SseOpenOptions {
	headers?: Record<string, string>;
	/** Throw unless the response is 200 text/event-stream (default true). */
	expectStream?: boolean;
}

export class SseClient {
	readonly response: Response;
	readonly messages: SseMessage[] = [];
	readonly comments: string[] = [];
	/** Every chunk's arrival time (ms since open), for "the first bytes arrive at once". */
	readonly chunkTimes: number[] = [];
	retry: number | undefined;
	/** The last dispatched message's id (what EventSource would send as Last-Event-ID). */
	lastEventId = '';
	/** Raw text received, only when `keepRaw` was set before data arrived. */
	raw = '';
	keepRaw = false;
	ended = false;
	error: unknown;
	/** Resolves when the body ends, errors or is aborted. */
	readonly done: Promise<void>;
	readonly #controller: AbortController;
	readonly #openedAt: number;
	readonly #waiters = new Set<() => void>();
	#paused: { promise: Promise<void>; resume: () => void } | undefined;
	#buffer = '';
	#data: string[] = [];
	#event = '';
	#id: string | undefined;

	private constructor(response: Response, controller: AbortController, openedAt: number) {
		this.response = response;
		this.#controller = controller;
		this.#openedAt = openedAt;
		this.done = this.#pump();
	}

	static async open(url: string, options: SseOpenOptions = {}): Promise<SseClient> {
		const controller = new AbortController();
		const openedAt = Date.now();
		const response = await fetch(url, {
			headers: { accept: 'text/event-stream', ...options.headers },
			signal: controller.signal
		});
		if (options.expectStream !== false) {
			const type = response.headers.get('content-type') ?? '';
			if (response.status !== 200 || !type.startsWith('text/event-stream')) {
				controller.abort();
				throw new Error(`expected an event stream, got ${response.status} ${type}: ${await response.text().catch(() => '')}`);
			}
		}
		return new SseClient(response, controller, openedAt);
	}

	/** The messages' data parsed as JSON. */
	get json(): any[] {
		return this.messages.map((m) => JSON.parse(m.data));
	}

	/** Cuts the connection, as a dropped network would; a half-received message is lost. */
	abort(): void {
		this.#controller.abort();
	}

	/** Stops reading from the socket (the server's send buffer fills). */
	pause(): void {
		if (this.#paused) return;
		let resume!: () => void;
		const promise = new Promise<void>((r) => (resume = r));
		this.#paused = { promise, resume };
	}

	resume(): void {
		const paused = this.#paused;
		this.#paused = undefined;
		paused?.resume();
	}

	/** Waits until `predicate` holds (checked on every message, comment and the end). */
	async waitFor(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
		if (predicate()) return;
		await new Promise<void>((resolve, reject) => {
			const check = () => {
				if (predicate()) {
					cleanup();
					resolve();
				} else if (this.ended) {
					cleanup();
					reject(new Error(`stream ended before ${what}; ${this.messages.length} messages`));
				}
			};
			const timer = setTimeout(() => {
				cleanup();
				reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${this.messages.length} messages`));
			}, timeoutMs);
			const cleanup = () => {
				clearTimeout(timer);
				this.#waiters.delete(check);
			};
			this.#waiters.add(check);
		});
	}

	async #pump(): Promise<void> {
		const body = this.response.body;
		if (!body) {
			this.ended = true;
			return;
		}
		const reader = body.getReader();
		const decoder = new TextDecoder();
		try {
			for (;;) {
				if (this.#paused) await this.#paused.promise;
				const { value, done } = await reader.read();
				if (done) break;
				this.chunkTimes.push(Date.now() - this.#openedAt);
				const text = decoder.decode(value, { stream: true });
				if (this.keepRaw) this.raw += text;
				this.#feed(text);
				this.#wake();
			}
		} catch (error) {
			if (!this.#controller.signal.aborted) this.error = error;
		} finally {
			this.ended = true;
			this.#wake();
		}
	}

	#wake(): void {
		for (const waiter of [...this.#waiters]) waiter();
	}

	/** The EventSource parsing rules: lines end with CRLF, LF or CR; a blank line dispatches. */
	#feed(text: string): void {
		this.#buffer += text;
		for (;;) {
			const match = /\r\n|\n|\r/.exec(this.#buffer);
			if (!match) return;
			// A CR at the very end may be the first half of a CRLF: wait for more.
			if (match[0] === '\r' && match.index === this.#buffer.length - 1) return;
			const line = this.#buffer.slice(0, match.index);
			this.#buffer = this.#buffer.slice(match.index + match[0].length);
			this.#line(line);
		}
	}

	#line(line: string): void {
		if (line === '') return this.#dispatch();
		if (line.startsWith(':')) {
			this.comments.push(line.slice(1).trim());
			return;
		}
		const colon = line.indexOf(':');
		const field = colon === -1 ? line : line.slice(0, colon);
		let value = colon === -1 ? '' : line.slice(colon + 1);
		if (value.startsWith(' ')) value = value.slice(1);
		switch (field) {
			case 'data':
				this.#data.push(value);
				return;
			case 'event':
				this.#event = value;
				return;
			case 'id':
				if (!value.includes('\0')) this.#id = value;
				return;
			case 'retry':
				if (/^\d+$/.test(value)) this.retry = Number(value);
				return;
		}
	}

	#dispatch(): void {
		const id = this.#id;
		if (id !== undefined) this.lastEventId = id;
		if (this.#data.length > 0) {
			this.messages.push({ id, event: this.#event || 'message', data: this.#data.join('\n') });
		}
		this.#data = [];
		this.#event = '';
		this.#id = undefined;
	}
}
