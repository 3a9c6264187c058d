/**
 * The bounded in-memory queue of serialised events. One {@link QueueBudget} is shared by every
 * execution of a client, so memory stays bounded however many executions are open while the
 * server is down.
 *
 * Policy when full: the NEWEST events are dropped (not queued), so what is kept is a gapless
 * beginning of the timeline, in order. Essential events (an execution's start and its end:
 * complete, error, cancelled) are always queued, so the final status is right even after drops.
 */

export interface QueuedEvent {
	/** The event as JSON; undefined until it is serialised (at send time for the client's own events). */
	json: string | undefined;
	/** Its size in the budget: `json`'s UTF-8 bytes, or an estimate made before it was serialised. */
	readonly bytes: number;
	/** Always queued, even over the budget. */
	readonly essential: boolean;
}

export class QueueBudget {
	events = 0;
	bytes = 0;
	constructor(
		readonly maxEvents: number,
		readonly maxBytes: number,
		/** Called with the number of queued events whenever it changes (the delivery thread publishes it). */
		readonly onEvents?: (events: number) => void
	) {}

	/** Reserves room for one event; `false` when it does not fit (and is not essential). */
	reserve(bytes: number, essential: boolean): boolean {
		if (!essential && (this.events + 1 > this.maxEvents || this.bytes + bytes > this.maxBytes)) return false;
		this.events++;
		this.bytes += bytes;
		this.onEvents?.(this.events);
		return true;
	}

	release(events: number, bytes: number): void {
		this.events -= events;
		this.bytes -= bytes;
		this.onEvents?.(this.events);
	}
}

export class EventQueue {
	/** Sent or given-up slots before `#head` are `undefined` until the array is compacted. */
	#items: (QueuedEvent | undefined)[] = [];
	#head = 0;
	#bytes = 0;
	constructor(readonly budget: QueueBudget) {}

	get length(): number {
		return this.#items.length - this.#head;
	}

	get bytes(): number {
		return this.#bytes;
	}

	/** Queues the event; `false` when the budget refused it (it was dropped). */
	push(item: QueuedEvent): boolean {
		if (!this.budget.reserve(item.bytes, item.essential)) return false;
		this.#items.push(item);
		this.#bytes += item.bytes;
		return true;
	}

	/**
	 * The oldest events that fit in one request: at most `maxEvents`, and at most `maxBytes` of
	 * events unless the first alone is larger. Left in the queue until {@link remove}.
	 */
	peek(maxEvents: number, maxBytes: number): QueuedEvent[] {
		const batch: QueuedEvent[] = [];
		let bytes = 0;
		for (let i = this.#head; i < this.#items.length && batch.length < maxEvents; i++) {
			const item = this.#items[i]!;
			if (batch.length > 0 && bytes + item.bytes > maxBytes) break;
			batch.push(item);
			bytes += item.bytes;
		}
		return batch;
	}

	/** Removes the `count` oldest events (sent, or given up on). */
	remove(count: number): void {
		let bytes = 0;
		const end = Math.min(this.#head + count, this.#items.length);
		for (let i = this.#head; i < end; i++) {
			bytes += this.#items[i]!.bytes;
			// Let go of it now, not at the next compaction: an event the array still held would
			// outlive the young generation and be copied into the old one, which costs the agent's
			// thread more than making and sending the event did.
			this.#items[i] = undefined;
		}
		const removed = end - this.#head;
		this.#head = end;
		this.#bytes -= bytes;
		this.budget.release(removed, bytes);
		if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
			this.#items = this.#items.slice(this.#head);
			this.#head = 0;
		}
	}

	/** Removes everything; returns how many events that was. */
	clear(): number {
		const count = this.length;
		this.remove(count);
		return count;
	}
}
