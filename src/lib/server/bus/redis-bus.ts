import { createClient } from 'redis';
import { BUS_MAX_INLINE_BYTES, READY_CHECK_TIMEOUT_MS } from '../../protocol/limits.js';
import type { StoredRow } from '../store/store.js';
import { describeRedisUrl } from './redis-url.js';
import { Listeners, newNodeId, type Bus, type BusHandler, type BusMessage, type BusStatus } from './bus.js';

export interface RedisBusOptions {
	/** `REDIS_URL` (checked by config.ts: redis:// or rediss://). */
	url: string;
	/** Prepended to every channel (`RUNWATCH_REDIS_PREFIX`): one Redis, several deployments or test runs. */
	prefix: string;
	log?: (line: string) => void;
	/** Largest run of events carried inline; bigger ones are announced by seq (see limits.ts). */
	maxInlineBytes?: number;
	/**
	 * Whether anyone on this node follows an execution (the hub's topics): other nodes' events of
	 * the rest are dropped unread, as the hub would drop them after decoding.
	 */
	follows?: (executionId: string) => boolean;
}

/**
 * The wire format: a JSON envelope on the first line (origin node, message), then for `rows`
 * each event's stored JSON text on a line of its own. JSON text never holds a raw newline, and
 * the rows reach the other nodes as the very text the store committed, never re-escaped inside
 * another string nor parsed on the way.
 */
export function encodeMessage(origin: string, message: BusMessage): string {
	if (message.type !== 'rows') return JSON.stringify({ n: origin, m: message });
	const { rows, ...rest } = message;
	const head = JSON.stringify({ n: origin, m: rest, s: rows.map((row) => row.seq) });
	let text = head;
	for (const row of rows) text += '\n' + row.json;
	return text;
}

type Head = { n: string; m: BusMessage; s?: number[] };

/**
 * Reads a message from its raw bytes. The rows of an execution `follows` says no one here
 * follows are never decoded: the message is dropped after its head line (every node receives
 * every node's events, and most are for executions it has no viewer of).
 */
export function decodeMessage(payload: Buffer, follows?: (executionId: string) => boolean): { origin: string; message: BusMessage } | undefined {
	const newline = payload.indexOf(10);
	const head = JSON.parse(payload.toString('utf8', 0, newline === -1 ? payload.length : newline)) as Head;
	if (head.m.type !== 'rows') return { origin: head.n, message: head.m };
	if (follows && !follows(head.m.executionId)) return undefined;
	const seqs = head.s ?? [];
	const texts = newline === -1 ? [] : payload.toString('utf8', newline + 1).split('\n');
	if (texts.length !== seqs.length) throw new Error(`bus message carries ${texts.length} rows for ${seqs.length} seqs`);
	const rows: StoredRow[] = seqs.map((seq, i) => ({ seq, json: texts[i]! }));
	return { origin: head.n, message: { ...head.m, rows } };
}

/** `rows` too big to carry inline become a `stored` notice: the other nodes read them from the store. */
export function forWire(message: BusMessage, maxInlineBytes: number): BusMessage {
	if (message.type !== 'rows' || message.rows.length === 0) return message;
	let size = 0;
	for (const row of message.rows) size += row.json.length;
	if (size <= maxInlineBytes) return message;
	return { type: 'stored', executionId: message.executionId, lastSeq: message.rows.at(-1)!.seq };
}

type Client = ReturnType<typeof createClient>;

/**
 * Redis pub/sub (node-redis, see README): one connection publishes, one subscribes, each
 * reconnecting on its own with backoff. Pub/sub delivers at most once, so:
 * - this node's own news goes to its handlers directly, never through Redis;
 * - while the publishing connection is down, news is dropped (ingest never waits or fails for
 *   it), and once it is back a `resync` tells every node to check the store;
 * - whenever the subscribing connection comes back (subscriptions are restored before it is
 *   ready), `onResync` listeners catch up from the store.
 */
export class RedisBus implements Bus {
	readonly kind = 'redis';
	readonly shared = true;
	readonly nodeId = newNodeId();
	readonly #url: string;
	readonly #where: string;
	readonly #broadcast: string;
	readonly #prefix: string;
	readonly #maxInline: number;
	readonly #log: (line: string) => void;
	readonly #follows: ((executionId: string) => boolean) | undefined;
	readonly #pub: Client;
	readonly #sub: Client;
	readonly #handlers = new Listeners<[BusMessage]>();
	readonly #resync = new Listeners<[]>();
	/** News this node could not publish since its connection was last up. */
	#dropped = false;
	/** The sentence logged for the current outage (logged once, not per retry). */
	#down: string | undefined = 'not connected yet';
	#closed = false;
	#subscribed = false;

	constructor(options: RedisBusOptions) {
		this.#url = options.url;
		this.#where = describeRedisUrl(options.url);
		this.#prefix = options.prefix;
		this.#broadcast = `${options.prefix}news`;
		this.#maxInline = options.maxInlineBytes ?? BUS_MAX_INLINE_BYTES;
		this.#log = options.log ?? ((line) => console.error(line));
		this.#follows = options.follows;
		const clientOptions = {
			url: this.#url,
			// A command while disconnected fails at once instead of queueing: publishing is news,
			// and news the store already holds is better dropped (and healed) than delivered late.
			disableOfflineQueue: true,
			pingInterval: 5_000,
			socket: {
				connectTimeout: READY_CHECK_TIMEOUT_MS,
				reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1_000)
			}
		};
		this.#pub = createClient(clientOptions);
		this.#sub = createClient(clientOptions);
		for (const [name, client] of [['publish', this.#pub], ['subscribe', this.#sub]] as const) {
			client.on('error', (error: Error) => this.#onError(error));
			client.on('ready', () => this.#onReady(name));
		}
	}

	/** Connects in the background: the node stays unready (`status`) until both connections are. */
	start(): this {
		this.#pub.connect().catch((error) => this.#onError(error));
		this.#sub
			.connect()
			.then(() =>
				this.#sub.subscribe([this.#broadcast, this.#channelOf(this.nodeId)], (payload) => this.#receive(payload), true)
			)
			.then(() => {
				// Ready only once subscribed (a reconnect restores the subscriptions before `ready`).
				this.#subscribed = true;
				this.#resync.emit();
			})
			.catch((error) => this.#onError(error));
		return this;
	}

	publish(message: BusMessage): void {
		if (this.#closed) return;
		this.#handlers.emit(message);
		this.#send(this.#broadcast, message);
	}

	send(nodeId: string, message: BusMessage): void {
		if (this.#closed) return;
		if (nodeId === this.nodeId) this.#handlers.emit(message);
		else this.#send(this.#channelOf(nodeId), message);
	}

	subscribe(handler: BusHandler): () => void {
		return this.#handlers.add(handler);
	}

	onResync(listener: () => void): () => void {
		return this.#resync.add(listener);
	}

	status(): BusStatus {
		if (this.#closed) return { ok: false, detail: 'closed' };
		if (this.#pub.isReady && this.#sub.isReady && this.#subscribed) return { ok: true, detail: `redis at ${this.#where}` };
		return { ok: false, detail: this.#down ?? `REDIS_URL: redis at ${this.#where} is reconnecting` };
	}

	async ping(): Promise<void> {
		const status = this.status();
		if (!status.ok) throw new Error(status.detail);
		let timer: NodeJS.Timeout | undefined;
		try {
			await Promise.race([
				this.#pub.ping(),
				new Promise((_, reject) => {
					timer = setTimeout(() => reject(new Error(`REDIS_URL: redis at ${this.#where} did not answer PING within ${READY_CHECK_TIMEOUT_MS} ms`)), READY_CHECK_TIMEOUT_MS);
				})
			]);
		} finally {
			clearTimeout(timer);
		}
	}

	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		this.#handlers.clear();
		this.#resync.clear();
		// A client still reconnecting is dropped at once; a connected one finishes what it sent.
		await Promise.all(
			[this.#pub, this.#sub].map((client) => {
				if (!client.isOpen) return undefined;
				if (!client.isReady) return client.destroy();
				return client.close().catch(() => client.destroy());
			})
		);
	}

	#channelOf(nodeId: string): string {
		return `${this.#prefix}node:${nodeId}`;
	}

	#send(channel: string, message: BusMessage): void {
		if (!this.#pub.isReady) {
			this.#dropped = true;
			return;
		}
		let payload: string;
		try {
			payload = encodeMessage(this.nodeId, forWire(message, this.#maxInline));
		} catch (error) {
			this.#log(`[runwatch] a bus message could not be encoded: ${error}`);
			return;
		}
		this.#pub.publish(channel, payload).catch(() => {
			this.#dropped = true; // the connection went down under it; `resync` once it is back
		});
	}

	#receive(payload: Buffer): void {
		let decoded: ReturnType<typeof decodeMessage>;
		try {
			decoded = decodeMessage(payload, this.#follows);
		} catch (error) {
			this.#log(`[runwatch] an unreadable bus message was ignored: ${error}`);
			return;
		}
		if (!decoded) return; // events no one here follows
		if (decoded.origin === this.nodeId) return; // delivered here directly when published
		if (decoded.message.type === 'resync') this.#resync.emit();
		else this.#handlers.emit(decoded.message);
	}

	#onError(error: unknown): void {
		if (this.#closed) return;
		const reason = error instanceof Error ? error.message || error.name : String(error);
		const sentence = `REDIS_URL: redis at ${this.#where} does not answer (${reason}); this node is unready (GET /readyz answers 503) and keeps retrying. Ingest goes on; viewers catch up from the store once it is back.`;
		if (this.#down && this.#down !== 'not connected yet') return; // logged once per outage
		this.#down = sentence;
		this.#log(`[runwatch] ${sentence}`);
	}

	#onReady(which: 'publish' | 'subscribe'): void {
		if (this.#closed) return;
		if (this.#pub.isReady && this.#sub.isReady) {
			if (this.#down && this.#down !== 'not connected yet') this.#log(`[runwatch] redis at ${this.#where} answers again; catching up from the store`);
			this.#down = undefined;
		}
		if (which === 'subscribe') {
			// Subscriptions are restored before `ready`: what was published while they were gone
			// is in the store, and from now on nothing slips past.
			this.#resync.emit();
		} else if (this.#dropped) {
			this.#dropped = false;
			this.#send(this.#broadcast, { type: 'resync' });
		}
	}
}
