import { randomBytes } from 'node:crypto';
import { SSE_FORWARD_TIMEOUT_MS } from '../../protocol/limits.js';
import type { Bus } from '../bus/bus.js';

/** What a session does with a client message (ViewerSession.receive). */
export interface SessionReceiver {
	receive(message: unknown): unknown;
}

/**
 * The dashboard's SSE session behind a load balancer with no stickiness: the stream is held by
 * one node, and its `POST /api/sse/:sessionId` may reach any. A session id names the node that
 * holds it (`<nodeId>.<random>`); a node that gets a POST for another node's session forwards
 * the messages over the bus and answers once that node has confirmed it holds the session
 * (202), or 404 when none does within SSE_FORWARD_TIMEOUT_MS (the stream ended or its node is
 * gone: the client opens a new stream).
 */
export class SseRelay {
	readonly #bus: Bus;
	readonly #sessions: Map<string, SessionReceiver>;
	readonly #timeoutMs: number;
	readonly #pending = new Map<string, (found: boolean) => void>();
	readonly #stop: () => void;

	constructor(bus: Bus, sessions: Map<string, SessionReceiver>, timeoutMs = SSE_FORWARD_TIMEOUT_MS) {
		this.#bus = bus;
		this.#sessions = sessions;
		this.#timeoutMs = timeoutMs;
		this.#stop = bus.subscribe((message) => {
			if (message.type === 'sse-post') {
				const session = this.#sessions.get(message.sessionId);
				if (session) for (const m of message.messages) void session.receive(m);
				this.#bus.send(message.from, { type: 'sse-ack', requestId: message.requestId, found: !!session });
			} else if (message.type === 'sse-ack') {
				this.#pending.get(message.requestId)?.(message.found);
			}
		});
	}

	/** A new session id, naming this node. */
	newSessionId(): string {
		return `${this.#bus.nodeId}.${randomBytes(16).toString('base64url')}`;
	}

	/**
	 * Hands `messages` to the session, here or on the node holding it. False when no node holds
	 * it (ended, never existed, or its node is gone).
	 */
	async deliver(sessionId: string, messages: unknown[]): Promise<boolean> {
		const local = this.#sessions.get(sessionId);
		if (local) {
			for (const message of messages) void local.receive(message);
			return true;
		}
		const dot = sessionId.indexOf('.');
		const node = dot > 0 ? sessionId.slice(0, dot) : undefined;
		if (!node || node === this.#bus.nodeId || !this.#bus.shared) return false;
		const requestId = randomBytes(9).toString('base64url');
		return new Promise<boolean>((resolve) => {
			const timer = setTimeout(() => settle(false), this.#timeoutMs);
			const settle = (found: boolean) => {
				clearTimeout(timer);
				this.#pending.delete(requestId);
				resolve(found);
			};
			this.#pending.set(requestId, settle);
			this.#bus.send(node, { type: 'sse-post', from: this.#bus.nodeId, requestId, sessionId, messages });
		});
	}

	close(): void {
		this.#stop();
		for (const settle of [...this.#pending.values()]) settle(false);
	}
}
