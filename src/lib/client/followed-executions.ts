import type { StoredEvent } from '../protocol/events.js';
import type { ClientMessage } from '../protocol/messages.js';

/** Receives one execution's events: in seq order, each exactly once, starting after its `since`. */
export interface ExecutionListener {
	onEvents(events: StoredEvent[]): void;
	/** The server confirmed the subscription; `lastSeq` is its newest seq at that moment. */
	onSubscribed?(lastSeq: number): void;
	/** The server refused or failed the subscription (e.g. `not_found`). */
	onError?(error: { code: string; message: string }): void;
}

/** One listener's place in an execution's stream. */
export interface ListenerEntry {
	readonly listener: ExecutionListener;
	/** Highest seq this listener has been given; undefined until the server says where live starts. */
	lastSeq: number | undefined;
}

/** One execution followed on the wire, shared by every listener of it. */
interface Followed {
	/** Highest seq received in order; undefined until the first `subscribed` of a `since`-less subscribe. */
	lastSeq: number | undefined;
	/**
	 * Subscribes sent and not yet answered. While one is in flight, events beyond a gap are the
	 * old stream's and are dropped: the new stream replays them in order.
	 */
	pending: number;
	listeners: Set<ListenerEntry>;
}

/**
 * What the page follows and from which seq: the exactly-once, in-order half of the connection
 * manager. It decides when a (re)subscribe is needed; `send` puts it on the wire and returns
 * false while there is no open transport (everything is re-sent on open anyway).
 */
export class FollowedExecutions {
	readonly #followed = new Map<string, Followed>();
	readonly #send: (message: ClientMessage) => boolean;

	constructor(send: (message: ClientMessage) => boolean) {
		this.#send = send;
	}

	get size(): number {
		return this.#followed.size;
	}

	/** Adds a listener; subscribes on the wire if this is the first, or if it needs older events. */
	add(executionId: string, since: number | undefined, listener: ExecutionListener): ListenerEntry {
		let followed = this.#followed.get(executionId);
		const entry: ListenerEntry = { listener, lastSeq: since ?? followed?.lastSeq };
		if (!followed) {
			followed = { lastSeq: since, pending: 0, listeners: new Set([entry]) };
			this.#followed.set(executionId, followed);
			this.#subscribe(executionId, followed);
		} else {
			followed.listeners.add(entry);
			// A newcomer that needs older events than the wire holds: replay from there for everyone;
			// the others drop what they already have.
			if (since !== undefined && (followed.lastSeq === undefined || since < followed.lastSeq)) {
				followed.lastSeq = since;
				this.#subscribe(executionId, followed);
			}
		}
		return entry;
	}

	/** Removes a listener; returns true when nobody follows the execution any more. */
	remove(executionId: string, entry: ListenerEntry): boolean {
		const followed = this.#followed.get(executionId);
		if (!followed || !followed.listeners.delete(entry) || followed.listeners.size > 0) return false;
		this.#followed.delete(executionId);
		return true;
	}

	/** After (re)connecting or switching transport: everything, from the last seq held. */
	resubscribeAll(): void {
		for (const [executionId, followed] of this.#followed) {
			followed.pending = 0;
			this.#subscribe(executionId, followed);
		}
	}

	/** The transport is gone: no subscribe is in flight any more. */
	forgetPending(): void {
		for (const followed of this.#followed.values()) followed.pending = 0;
	}

	onSubscribed(executionId: string, lastSeq: number): void {
		const followed = this.#followed.get(executionId);
		if (!followed) return;
		followed.pending = Math.max(0, followed.pending - 1);
		followed.lastSeq ??= lastSeq;
		for (const entry of followed.listeners) {
			entry.lastSeq ??= lastSeq;
			entry.listener.onSubscribed?.(lastSeq);
		}
	}

	/** A failed subscribe is answered with an error instead of `subscribed`. Returns false if not ours. */
	onError(executionId: string, error: { code: string; message: string }): boolean {
		const followed = this.#followed.get(executionId);
		if (!followed) return false;
		followed.pending = Math.max(0, followed.pending - 1);
		for (const entry of followed.listeners) entry.listener.onError?.(error);
		return true;
	}

	onEvents(executionId: string, events: StoredEvent[]): void {
		const followed = this.#followed.get(executionId);
		if (!followed || followed.lastSeq === undefined) return;
		const accepted: StoredEvent[] = [];
		for (const event of events) {
			if (event.seq <= followed.lastSeq) continue; // duplicate (replay overlap)
			if (event.seq > followed.lastSeq + 1) {
				// A gap: never apply out of order. Ask again from what we hold, unless a subscribe
				// is already in flight, whose replay will fill it.
				if (followed.pending === 0) this.#subscribe(executionId, followed);
				break;
			}
			followed.lastSeq = event.seq;
			accepted.push(event);
		}
		if (accepted.length === 0) return;
		for (const entry of followed.listeners) {
			const from = entry.lastSeq ?? 0;
			const fresh = from === 0 ? accepted : accepted.filter((event) => event.seq > from);
			if (fresh.length === 0) continue;
			entry.lastSeq = fresh[fresh.length - 1]!.seq;
			entry.listener.onEvents(fresh);
		}
	}

	#subscribe(executionId: string, followed: Followed): void {
		const message: ClientMessage =
			followed.lastSeq === undefined
				? { type: 'subscribe', executionId }
				: { type: 'subscribe', executionId, since: followed.lastSeq };
		if (this.#send(message)) followed.pending++;
	}
}
