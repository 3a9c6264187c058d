import type { EventBatch } from './batch.js';

/**
 * One viewer connection as the hub sees it: a WebSocket or an SSE response. The hub decides what
 * to send and when; the sink only knows how to put a batch on its wire.
 */
export interface Sink {
	/** Puts the batch on the wire. Never throws; a broken connection reports itself as closed. */
	deliver(batch: EventBatch): void;
	/** Bytes written but not yet flushed to the network. */
	readonly bufferedAmount: number;
	readonly closed: boolean;
}
