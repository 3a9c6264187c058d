/** A WebSocket test client (the `ws` package) that keeps every frame and can wait for one. */
import WebSocket from 'ws';

export interface StoredEventLike {
	seq: number;
	id: string;
	type: string;
	[key: string]: unknown;
}

export type Frame =
	| { type: 'subscribed'; executionId: string; lastSeq: number }
	| { type: 'event'; executionId: string; event: StoredEventLike }
	| { type: 'events'; executionId: string; events: StoredEventLike[] }
	| { type: 'pong' }
	| { type: 'executions-subscribed' }
	| { type: 'execution'; execution: { id: string; status: string; lastSeq: number } }
	| { type: 'error'; code: string; message: string; executionId?: string };

export class WsClient {
	readonly ws: WebSocket;
	readonly frames: Frame[] = [];
	/** Events per execution, in arrival order. */
	readonly events = new Map<string, StoredEventLike[]>();
	/** Problems seen on arrival: a seq that is not the next one. */
	readonly violations: string[] = [];
	closed: { code: number; reason: string } | undefined;
	readonly #waiters = new Set<() => void>();

	private constructor(ws: WebSocket) {
		this.ws = ws;
		ws.on('message', (data, isBinary) => {
			if (isBinary) {
				this.violations.push('binary frame from server');
				return;
			}
			const frame = JSON.parse(data.toString()) as Frame;
			this.frames.push(frame);
			if (frame.type === 'event' || frame.type === 'events') {
				const list = this.events.get(frame.executionId) ?? [];
				this.events.set(frame.executionId, list);
				for (const event of frame.type === 'event' ? [frame.event] : frame.events) {
					const expected = (list.at(-1)?.seq ?? this.#base.get(frame.executionId) ?? 0) + 1;
					if (event.seq !== expected) this.violations.push(`${frame.executionId}: got seq ${event.seq}, expected ${expected}`);
					list.push(event);
				}
			}
			this.#wake();
		});
		ws.on('close', (code, reason) => {
			this.closed = { code, reason: reason.toString() };
			this.#wake();
		});
		ws.on('error', () => {});
	}

	/** The seq a subscription started from, so the first event can be checked too. */
	readonly #base = new Map<string, number>();

	static connect(url: string, options: WebSocket.ClientOptions = {}): Promise<WsClient> {
		return new Promise((resolve, reject) => {
			const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
			const client = new WsClient(ws);
			ws.once('open', () => resolve(client));
			ws.once('unexpected-response', (_request, response) => {
				let body = '';
				response.on('data', (chunk: Buffer) => (body += chunk));
				response.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${response.statusCode}`), { status: response.statusCode, body })));
			});
			ws.once('error', reject);
		});
	}

	#wake(): void {
		for (const waiter of this.#waiters) waiter();
	}

	/** Resolves when `check` is true, re-checked on every frame. */
	waitUntil(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
		if (check()) return Promise.resolve();
		return new Promise((resolve, reject) => {
			const waiter = () => {
				if (!check()) return;
				clearTimeout(timer);
				this.#waiters.delete(waiter);
				resolve();
			};
			const timer = setTimeout(() => {
				this.#waiters.delete(waiter);
				reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last frames: ${JSON.stringify(this.frames.slice(-3)).slice(0, 500)}`));
			}, timeoutMs);
			this.#waiters.add(waiter);
		});
	}

	/** The first frame after index `from` that matches. */
	async nextFrame<T extends Frame['type']>(type: T, from = 0, timeoutMs = 10_000): Promise<Extract<Frame, { type: T }>> {
		let found: Frame | undefined;
		await this.waitUntil(() => (found = this.frames.slice(from).find((f) => f.type === type)) !== undefined, `a ${type} frame`, timeoutMs);
		return found as Extract<Frame, { type: T }>;
	}

	send(message: unknown): void {
		this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
	}

	/** Sends subscribe and waits for `subscribed`. */
	async subscribe(executionId: string, since?: number): Promise<number> {
		const from = this.frames.length;
		if (since !== undefined) this.#base.set(executionId, since);
		this.send(since === undefined ? { type: 'subscribe', executionId } : { type: 'subscribe', executionId, since });
		let subscribed: Frame | undefined;
		await this.waitUntil(
			() => (subscribed = this.frames.slice(from).find((f) => (f.type === 'subscribed' || f.type === 'error') && f.executionId === executionId)) !== undefined,
			`subscribed to ${executionId}`
		);
		if (subscribed!.type === 'error') throw new Error(`subscribe failed: ${subscribed!.code} ${subscribed!.message}`);
		const lastSeq = (subscribed as { lastSeq: number }).lastSeq;
		if (since === undefined) this.#base.set(executionId, lastSeq);
		return lastSeq;
	}

	seqs(executionId: string): number[] {
		return (this.events.get(executionId) ?? []).map((e) => e.seq);
	}

	lastSeq(executionId: string): number {
		return this.events.get(executionId)?.at(-1)?.seq ?? this.#base.get(executionId) ?? 0;
	}

	waitForSeq(executionId: string, seq: number, timeoutMs = 20_000): Promise<void> {
		return this.waitUntil(() => this.lastSeq(executionId) >= seq, `seq ${seq} of ${executionId} (have ${this.lastSeq(executionId)})`, timeoutMs);
	}

	waitForClose(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
		return this.waitUntil(() => this.closed !== undefined, 'close', timeoutMs).then(() => this.closed!);
	}

	close(): void {
		if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
	}

	terminate(): void {
		this.ws.terminate();
	}
}
