import type { Execution } from '../protocol/executions.js';
import type { ClientMessage } from '../protocol/messages.js';

/** Receives the execution list feed: new executions and summary changes. */
export interface ExecutionsListener {
	onExecution(execution: Execution): void;
	/** The execution was deleted: drop it. */
	onDeleted?(executionId: string): void;
	/**
	 * The server confirmed the feed. After the first time, this means a reconnect: changes made
	 * while disconnected were missed, so refetch what is shown.
	 */
	onSubscribed?(): void;
}

/**
 * Who follows the execution list, and the one wire subscription they share: subscribed when the
 * first listener arrives (or on every (re)connect while any listens), unsubscribed when the last
 * one leaves. `send` puts a message on the wire and returns false while there is no open
 * transport (everything is re-sent on open anyway).
 */
export class ExecutionListFeed {
	readonly #listeners = new Set<ExecutionsListener>();
	readonly #send: (message: ClientMessage) => boolean;

	constructor(send: (message: ClientMessage) => boolean) {
		this.#send = send;
	}

	get size(): number {
		return this.#listeners.size;
	}

	add(listener: ExecutionsListener): void {
		this.#listeners.add(listener);
		if (this.#listeners.size === 1) this.#send({ type: 'subscribe-executions' });
	}

	/** Returns true when nobody follows the list any more (and it was unsubscribed). */
	remove(listener: ExecutionsListener): boolean {
		if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return false;
		this.#send({ type: 'unsubscribe-executions' });
		return true;
	}

	/** After (re)connecting or switching transport. */
	resubscribe(): void {
		if (this.#listeners.size > 0) this.#send({ type: 'subscribe-executions' });
	}

	onExecution(execution: Execution): void {
		for (const listener of [...this.#listeners]) listener.onExecution(execution);
	}

	onDeleted(executionId: string): void {
		for (const listener of [...this.#listeners]) listener.onDeleted?.(executionId);
	}

	onSubscribed(): void {
		for (const listener of [...this.#listeners]) listener.onSubscribed?.();
	}
}
