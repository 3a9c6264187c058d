import { randomBytes } from 'node:crypto';
import type { Execution } from '../../protocol/executions.js';
import type { StoredRow } from '../store/store.js';

/**
 * News that crosses nodes. Everything here happened already (committed to the store): the bus
 * only tells; the store stays the source of truth, and a node that misses news heals from it.
 */
export type BusMessage =
	/** Committed events of one execution, ascending by seq, as the JSON text stored. */
	| { type: 'rows'; executionId: string; rows: StoredRow[] }
	/** Events up to `lastSeq` were committed but were too big to carry: read them from the store. */
	| { type: 'stored'; executionId: string; lastSeq: number }
	/** An execution was created or its summary changed (live list, cancel long-poll). */
	| { type: 'execution'; execution: Execution }
	| { type: 'deleted'; executionId: string }
	/** A viewer signed out: connections opened with that session lose access. */
	| { type: 'session-ended'; sessionId: string }
	| { type: 'share-revoked'; shareId: string }
	/** A node may have missed news (its publishing was down): everyone checks the store. */
	| { type: 'resync' }
	/** A dashboard SSE session POST reached a node that does not hold the stream. */
	| { type: 'sse-post'; from: string; requestId: string; sessionId: string; messages: unknown[] }
	| { type: 'sse-ack'; requestId: string; found: boolean };

export type BusHandler = (message: BusMessage) => void;

export interface BusStatus {
	ok: boolean;
	/** A sentence for `/readyz` and the log: what is wrong, naming the setting to look at. */
	detail: string;
}

/**
 * Carries news between the nodes of one deployment. A message published here reaches this
 * node's handlers at once (in the same turn, whatever the transport does), and the other nodes
 * when the transport carries it. Publishing never throws and never waits: ingest has committed
 * already, and a node that misses news heals from the store (`onResync`, periodic checks).
 */
export interface Bus {
	readonly kind: 'local' | 'redis';
	/** This node's id, unique per process start: names the node in SSE session ids. */
	readonly nodeId: string;
	/** Whether other nodes exist on this bus (healing and forwarding only matter then). */
	readonly shared: boolean;
	/** To every node, this one included. */
	publish(message: BusMessage): void;
	/** To one node only (SSE session commands and their answers). Dropped when it is unknown. */
	send(nodeId: string, message: BusMessage): void;
	/** Returns the function that stops listening. */
	subscribe(handler: BusHandler): () => void;
	/**
	 * Called when news may have been lost (the connection came back): whoever follows anything
	 * catches up from the store.
	 */
	onResync(listener: () => void): () => void;
	/** What `/readyz` reports, without waiting. */
	status(): BusStatus;
	/** Resolves when the transport answers; rejects with a sentence when it does not. */
	ping(): Promise<void>;
	close(): Promise<void>;
}

export function newNodeId(): string {
	return randomBytes(6).toString('base64url');
}

/** Calls every handler; one that throws does not keep the news from the others. */
export class Listeners<T extends unknown[]> {
	readonly #set = new Set<(...args: T) => void>();

	add(listener: (...args: T) => void): () => void {
		this.#set.add(listener);
		return () => this.#set.delete(listener);
	}

	emit(...args: T): void {
		for (const listener of [...this.#set]) {
			try {
				listener(...args);
			} catch (error) {
				console.error('[runwatch] a bus listener failed:', error);
			}
		}
	}

	clear(): void {
		this.#set.clear();
	}
}

/** One process, no other nodes: news goes straight to this node's handlers. The default. */
export class LocalBus implements Bus {
	readonly kind = 'local';
	readonly shared = false;
	readonly nodeId = newNodeId();
	readonly #handlers = new Listeners<[BusMessage]>();
	#closed = false;

	publish(message: BusMessage): void {
		if (!this.#closed) this.#handlers.emit(message);
	}

	send(nodeId: string, message: BusMessage): void {
		if (nodeId === this.nodeId) this.publish(message);
	}

	subscribe(handler: BusHandler): () => void {
		return this.#handlers.add(handler);
	}

	onResync(): () => void {
		return () => {}; // nothing is ever lost in-process
	}

	status(): BusStatus {
		return this.#closed ? { ok: false, detail: 'closed' } : { ok: true, detail: 'in-process' };
	}

	async ping(): Promise<void> {
		if (this.#closed) throw new Error('the bus is closed');
	}

	async close(): Promise<void> {
		this.#closed = true;
		this.#handlers.clear();
	}
}
