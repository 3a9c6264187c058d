import type { Transport, TransportName } from './transport/transport.js';

/**
 * - `connecting`: the first attempt since the page started following something.
 * - `open`: connected; events flow.
 * - `reconnecting`: lost the connection; trying again (`nextRetryAt` says when, or null while an
 *   attempt is in flight).
 * - `offline`: not connected and not retrying on a timer: the browser is offline (waits for
 *   `online`), the server refused us for good, or nothing is followed any more.
 * - `forbidden`: the server no longer lets this viewer view (signed out, share link revoked or
 *   expired: close code 4403, an SSE `forbidden` message, or HTTP 401/403). No retrying until
 *   `reconnectNow()`; the page offers to sign in again.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'offline' | 'forbidden';

export interface ConnectionStatus {
	state: ConnectionState;
	/** The transport in use or last used; null before the first attempt. */
	transport: TransportName | null;
	/** Epoch ms of the next attempt while `reconnecting` and waiting; otherwise null. */
	nextRetryAt: number | null;
	/** Why the connection is `offline` or `forbidden`, for people. */
	reason: string | null;
}

/**
 * Where the connection is: the one state machine. Every change goes through `PhaseCell.set`; the
 * public `ConnectionStatus` is a projection of it (`statusOf`). `initial` is true until the
 * first attempt since the page started following something has either worked or had to wait.
 *
 *   idle ──follow──▶ connecting ──open──▶ opened ──message──▶ live
 *   connecting | opened ──silent──▶ connecting (the policy falls back, at once)
 *   connecting | opened ──WebSocket failed──▶ checking ──HTTP answers──▶ connecting (falls back) | waiting
 *                                              checking ──no answer──▶ waiting (same transport, soon)
 *                                              checking ──401/403──▶ down (forbidden)
 *   live ──lost (1001 after a stable connection: at once)──▶ connecting | waiting
 *   live ──background probe answered──▶ live (on the probe's transport)
 *   waiting ──timer, Reconnect, online, visible──▶ connecting
 *   any ──device offline──▶ down (offline; `online` wakes it)
 *   any ──refused for good──▶ down (forbidden: 4403, SSE `forbidden`, HTTP 401/403; or offline: 44xx), until reconnectNow
 *   any ──nothing followed for lingerMs──▶ idle
 */
export type Phase =
	| { kind: 'idle'; last: TransportName | null }
	| { kind: 'connecting'; transport: Transport; initial: boolean }
	| { kind: 'opened'; transport: Transport; initial: boolean; openedAt: number }
	| { kind: 'live'; transport: Transport; openedAt: number }
	| { kind: 'checking'; last: TransportName; initial: boolean }
	| { kind: 'waiting'; last: TransportName | null; retryAt: number }
	| { kind: 'down'; state: 'offline' | 'forbidden'; last: TransportName | null; reason: string; wakes: boolean };

export function statusOf(phase: Phase): ConnectionStatus {
	switch (phase.kind) {
		case 'idle':
			return { state: 'offline', transport: phase.last, nextRetryAt: null, reason: 'Not following any execution' };
		case 'connecting':
		case 'opened':
			return { state: phase.initial ? 'connecting' : 'reconnecting', transport: phase.transport.name, nextRetryAt: null, reason: null };
		case 'checking':
			return { state: phase.initial ? 'connecting' : 'reconnecting', transport: phase.last, nextRetryAt: null, reason: null };
		case 'live':
			return { state: 'open', transport: phase.transport.name, nextRetryAt: null, reason: null };
		case 'waiting':
			return { state: 'reconnecting', transport: phase.last, nextRetryAt: phase.retryAt, reason: null };
		case 'down':
			return { state: phase.state, transport: phase.last, nextRetryAt: null, reason: phase.reason };
	}
}

/** How a connection ended, for the one way down (`#drop`). */
export type Ending =
	/** Nothing is followed any more. */
	| { kind: 'idle' }
	/** The server refused us; retrying cannot help until the person acts. */
	| { kind: 'final'; forbidden: boolean; reason: string }
	/** An attempt failed (closed or timed out before any message, or opened and stayed silent). */
	| { kind: 'failed'; outcome: 'failed' | 'silent' }
	/** A working connection was lost. */
	| { kind: 'lost'; now: boolean };

function sameStatus(a: ConnectionStatus, b: ConnectionStatus): boolean {
	return a.state === b.state && a.transport === b.transport && a.nextRetryAt === b.nextRetryAt && a.reason === b.reason;
}

/**
 * The current phase and the status it projects to. `set` is the one setter of the state
 * machine: listeners hear a status only when it really changed.
 */
export class PhaseCell {
	#phase: Phase = { kind: 'idle', last: null };
	/** What the server renders too: about to connect. Changes only with the phase. */
	#status: ConnectionStatus = { state: 'connecting', transport: null, nextRetryAt: null, reason: null };
	readonly #listeners = new Set<(status: ConnectionStatus) => void>();

	get phase(): Phase {
		return this.#phase;
	}

	get status(): ConnectionStatus {
		return this.#status;
	}

	listen(listener: (status: ConnectionStatus) => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
	}

	set(next: Phase): void {
		this.#phase = next;
		const status = statusOf(next);
		if (sameStatus(status, this.#status)) return;
		this.#status = status;
		for (const listener of [...this.#listeners]) listener(status);
	}
}

/** The transport of a phase that has one. */
export function transportOf(phase: Phase): Transport | undefined {
	return phase.kind === 'connecting' || phase.kind === 'opened' || phase.kind === 'live' ? phase.transport : undefined;
}
