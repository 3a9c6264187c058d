import type { ClientMessage, ServerMessage } from '../../protocol/messages.js';

/** The transports Runwatch speaks, in the order the client tries them. */
export type TransportName = 'websocket' | 'sse';

/** Why a transport stopped. `code` uses WebSocket close codes for every transport. */
export interface TransportClose {
	/** A WebSocket close code (1000–4999); 1006 when the connection failed or dropped without one. */
	code: number;
	reason: string;
}

/**
 * What a transport reports. Every callback carries the id of the transport it came from: the
 * connection manager replaces transports on reconnect, and a late callback from one it already
 * dropped (a `close` that fires after a new socket opened) must not touch the new one.
 */
export interface TransportCallbacks {
	/** The transport can send. Called at most once. */
	onOpen(transportId: number): void;
	/** One server message, already validated with `serverMessageSchema`. */
	onMessage(transportId: number, message: ServerMessage): void;
	/**
	 * A frame that is not a valid server message. It is dropped; the connection carries on (a
	 * lost event shows up as a seq gap, which the connection manager repairs).
	 */
	onInvalidMessage(transportId: number, detail: string): void;
	/** The transport is gone, whether it ever opened or not. Called at most once, never after `close()`. */
	onClose(transportId: number, close: TransportClose): void;
}

/**
 * One connection to the server, at the message level: `ClientMessage` in, `ServerMessage` out.
 * Implementations: `websocket.ts`; an SSE one receives on an EventSource and sends
 * subscribe/unsubscribe with `fetch`, behind the same shape.
 *
 * A transport is used once: after `onClose` (or `close()`) the manager creates a new one.
 */
export interface Transport {
	readonly name: TransportName;
	/** Unique per manager; echoed in every callback. */
	readonly id: number;
	/** Starts connecting. Call once. */
	connect(callbacks: TransportCallbacks): void;
	/** Sends one message. Only valid between `onOpen` and `onClose`; otherwise it is dropped. */
	send(message: ClientMessage): void;
	/** Closes for good. No callback fires afterwards. Safe to call more than once. */
	close(): void;
}

/** Builds transports of one kind; the connection manager holds one factory per transport it may use. */
export interface TransportFactory {
	readonly name: TransportName;
	/** Whether this environment can run the transport at all (e.g. `WebSocket` exists). */
	supported(): boolean;
	create(id: number): Transport;
}
