import type { ClientMessage, ServerMessage } from '../protocol/messages.js';
import { BackgroundProbe } from './background-probe.js';
import { sameStatus, statusOf, transportOf, type ConnectionStatus, type Ending, type Phase } from './connection-phase.js';
import { resolveConnectionOptions, type ConnectionOptions, type ResolvedConnectionOptions } from './connection-options.js';
import { defaultEnvironment, EnvironmentWatch } from './environment.js';
import { ExecutionListFeed, type ExecutionsListener } from './execution-list-feed.js';
import { FollowedExecutions, type ExecutionListener, type ListenerEntry } from './followed-executions.js';
import { Liveness } from './liveness.js';
import { RetryTimer } from './retry-timer.js';
import { routeMessage } from './route-message.js';
import { closeDecision, FORBIDDEN_REASON } from './transport/close-policy.js';
import type { Transport, TransportCallbacks, TransportClose, TransportFactory, TransportName } from './transport/transport.js';

export type { ConnectionOptions } from './connection-options.js';
export type { ConnectionState, ConnectionStatus } from './connection-phase.js';
export type { ConnectionEnvironment } from './environment.js';
export type { ExecutionsListener } from './execution-list-feed.js';
export type { ExecutionListener } from './followed-executions.js';

/**
 * A server that closes with 1001 gets us back at once, but only if the connection had lasted
 * this long: a server that accepts and immediately sends us away again gets backoff, not a loop.
 */
const MIN_STABLE_MS = 1_000;

/** `fn`, callable any number of times, run the first time only. */
function once(fn: () => void): () => void {
	let done = false;
	return () => {
		if (done) return;
		done = true;
		fn();
	};
}

/**
 * Keeps one connection to the server while anything is followed, and delivers every event of
 * every followed execution exactly once, in order, across reconnects.
 *
 * Creating one opens nothing: the first `subscribe` connects, and the connection closes
 * `lingerMs` after the last listener leaves.
 */
export class Connection {
	readonly #options: ResolvedConnectionOptions;
	readonly #send = (message: ClientMessage): boolean => {
		const phase = this.#phase;
		if (phase.kind !== 'opened' && phase.kind !== 'live') return false; // everything is sent on open
		phase.transport.send(message);
		return true;
	};
	readonly #followed = new FollowedExecutions(this.#send);
	readonly #list = new ExecutionListFeed(this.#send);
	readonly #statusListeners = new Set<(status: ConnectionStatus) => void>();
	readonly #environment: EnvironmentWatch;
	readonly #liveness: Liveness;
	readonly #probe: BackgroundProbe;

	#phase: Phase = { kind: 'idle', last: null };
	/** What the server renders too: about to connect. Changes only with the phase. */
	#status: ConnectionStatus = { state: 'connecting', transport: null, nextRetryAt: null, reason: null };
	#nextTransportId = 0;
	readonly #retry: RetryTimer;
	#lingerTimer: ReturnType<typeof setTimeout> | undefined;

	constructor(options: ConnectionOptions) {
		const resolved = resolveConnectionOptions(options);
		this.#options = resolved;
		this.#retry = new RetryTimer({ minMs: resolved.backoffMinMs, maxMs: resolved.backoffMaxMs, random: resolved.random });
		this.#environment = new EnvironmentWatch(resolved.environment ?? defaultEnvironment(), () => this.#wake());
		this.#liveness = new Liveness({
			pingIntervalMs: resolved.pingIntervalMs,
			deadAfterMs: resolved.deadAfterMs,
			ping: () => this.#send({ type: 'ping' }),
			dead: () => this.#drop(this.#phase.kind === 'live' ? { kind: 'lost', now: false } : { kind: 'failed', outcome: 'failed' })
		});
		this.#probe = new BackgroundProbe({
			policy: resolved.policy,
			intervalMs: resolved.probeIntervalMs,
			deadlineMs: resolved.connectTimeoutMs + resolved.firstMessageTimeoutMs,
			start: (factory) => this.#start(factory),
			takeOver: (probe) => this.#takeOver(probe)
		});
	}

	get status(): ConnectionStatus {
		return this.#status;
	}

	/** Calls `listener` on every status change (not with the current one). Returns the unsubscribe function. */
	onStatus(listener: (status: ConnectionStatus) => void): () => void {
		this.#statusListeners.add(listener);
		return () => this.#statusListeners.delete(listener);
	}

	/**
	 * Follows `executionId`. With `since`, the listener gets every event with seq > since; without,
	 * live events from the moment the server confirms. Returns the function that stops following.
	 */
	subscribe(executionId: string, since: number | undefined, listener: ExecutionListener): () => void {
		const wasIdle = this.#claim();
		const entry = this.#followed.add(executionId, since, listener);
		this.#ensureConnected(wasIdle);
		return once(() => this.#removeListener(executionId, entry));
	}

	/**
	 * Follows the execution list (new executions, status and usage changes). Returns the
	 * function that stops following.
	 */
	subscribeExecutions(listener: ExecutionsListener): () => void {
		const wasIdle = this.#claim();
		this.#list.add(listener);
		this.#ensureConnected(wasIdle);
		return once(() => {
			if (this.#list.remove(listener)) this.#lingerIfIdle();
		});
	}

	/** Tries at once (the Reconnect button, `online`, tab visible again). No-op while open or mid-attempt. */
	reconnectNow(): void {
		const kind = this.#phase.kind;
		if (this.#hasWork() && (kind === 'waiting' || kind === 'down')) this.#connect(false);
	}

	// ── Transitions ────────────────────────────────────────────────────────────────────────────

	/** The one setter: every phase change goes through here; listeners hear only real changes. */
	#setPhase(next: Phase): void {
		this.#phase = next;
		const status = statusOf(next);
		if (sameStatus(status, this.#status)) return;
		this.#status = status;
		for (const listener of [...this.#statusListeners]) listener(status);
	}

	/** A new use of the connection: cancels a pending linger. Returns whether it was idle. */
	#claim(): boolean {
		clearTimeout(this.#lingerTimer);
		this.#lingerTimer = undefined;
		return !this.#hasWork();
	}

	#hasWork(): boolean {
		return this.#followed.size > 0 || this.#list.size > 0;
	}

	#ensureConnected(wasIdle: boolean): void {
		this.#environment.watch(true);
		// Down and not waiting for a retry: idle, refused for good, or waiting for `online`.
		if (this.#phase.kind === 'idle' || this.#phase.kind === 'down') this.#connect(wasIdle);
	}

	#removeListener(executionId: string, entry: ListenerEntry): void {
		if (!this.#followed.remove(executionId, entry)) return;
		this.#send({ type: 'unsubscribe', executionId });
		this.#lingerIfIdle();
	}

	#lingerIfIdle(): void {
		if (this.#hasWork()) return;
		clearTimeout(this.#lingerTimer);
		this.#lingerTimer = setTimeout(() => {
			this.#lingerTimer = undefined;
			this.#drop({ kind: 'idle' });
		}, this.#options.lingerMs);
	}

	#wake(): void {
		const phase = this.#phase;
		if (phase.kind === 'waiting' || (phase.kind === 'down' && phase.wakes)) this.reconnectNow();
	}

	/** idle | waiting | down → connecting, on the transport the policy picks. */
	#connect(initial: boolean): void {
		this.#retry.cancel();
		const factory = this.#options.policy.next();
		if (!factory) {
			const reason = 'This browser cannot connect for live updates';
			return this.#setPhase({ kind: 'down', state: 'offline', last: null, reason, wakes: false });
		}
		const transport = factory.create(++this.#nextTransportId);
		this.#setPhase({ kind: 'connecting', transport, initial });
		this.#liveness.start();
		this.#liveness.expectWithin(this.#options.connectTimeoutMs, () => this.#attemptExpired());
		transport.connect(this.#callbacks);
	}

	/** For the background probe: a transport that reports to the same callbacks. */
	#start(factory: TransportFactory): Transport {
		const transport = factory.create(++this.#nextTransportId);
		transport.connect(this.#callbacks);
		return transport;
	}

	/**
	 * Shared by every transport this manager creates. A callback counts only if it comes from the
	 * current transport or the running probe; anything from one already dropped is ignored.
	 */
	readonly #callbacks: TransportCallbacks = {
		onOpen: (id) => {
			const phase = this.#phase;
			if (phase.kind === 'connecting' && phase.transport.id === id) this.#opened(phase);
			else if (this.#probe.owns(id)) this.#probe.opened();
		},
		onMessage: (id, message) => {
			if (id === transportOf(this.#phase)?.id) this.#onMessage(message);
			else if (this.#probe.owns(id)) this.#probe.answered();
		},
		onInvalidMessage: (id, detail) => {
			if (id === transportOf(this.#phase)?.id) this.#options.onDiagnostic(`ignored an invalid server message: ${detail}`);
			else if (this.#probe.owns(id)) this.#probe.failed();
		},
		onClose: (id, close) => {
			if (id === transportOf(this.#phase)?.id) this.#onClose(close);
			else if (this.#probe.owns(id)) this.#probe.failed();
		}
	};

	/** connecting → opened. Not live yet: only a message from the server proves the connection carries anything. */
	#opened(phase: Extract<Phase, { kind: 'connecting' }>): void {
		this.#setPhase({ kind: 'opened', transport: phase.transport, initial: phase.initial, openedAt: Date.now() });
		this.#liveness.touch();
		this.#liveness.expectWithin(this.#options.firstMessageTimeoutMs, () => this.#attemptExpired());
		this.#resubscribeAll();
	}

	/** After (re)connecting or switching transport: everything followed, from the last seq held. */
	#resubscribeAll(): void {
		this.#followed.resubscribeAll();
		this.#list.resubscribe();
	}

	/** Not open in time (failed), or open and silent in time (silent). */
	#attemptExpired(): void {
		this.#drop({ kind: 'failed', outcome: this.#phase.kind === 'opened' ? 'silent' : 'failed' });
	}

	/** connecting | opened → live on the first server message. */
	#onMessage(message: ServerMessage): void {
		this.#liveness.touch();
		this.#retry.reset(); // a message proves the connection healthy
		const phase = this.#phase;
		if (phase.kind === 'connecting' || phase.kind === 'opened') {
			this.#liveness.settle();
			this.#options.policy.report(phase.transport.name, 'healthy');
			const openedAt = phase.kind === 'opened' ? phase.openedAt : Date.now();
			this.#setPhase({ kind: 'live', transport: phase.transport, openedAt });
			this.#probe.schedule(phase.transport.name);
		}
		// This viewer may no longer view (the server ends the connection after this).
		if (message.type === 'error' && message.code === 'forbidden' && !message.executionId) {
			return this.#drop({ kind: 'final', forbidden: true, reason: message.message || FORBIDDEN_REASON });
		}
		routeMessage(message, { followed: this.#followed, list: this.#list, diagnostic: this.#options.onDiagnostic });
	}

	#onClose(close: TransportClose): void {
		const decision = closeDecision(close.code);
		if (decision.action === 'final') return this.#drop({ kind: 'final', forbidden: decision.forbidden, reason: decision.reason });
		const phase = this.#phase;
		if (phase.kind !== 'live') return this.#drop({ kind: 'failed', outcome: 'failed' });
		const stable = Date.now() - phase.openedAt >= MIN_STABLE_MS;
		this.#drop({ kind: 'lost', now: decision.delay === 'now' && stable });
	}

	/** live → live on the probe's transport: subscribe everything on it, then close the old one. */
	#takeOver(probe: Transport): void {
		const previous = transportOf(this.#phase);
		this.#setPhase({ kind: 'live', transport: probe, openedAt: Date.now() });
		this.#liveness.touch();
		this.#resubscribeAll();
		previous?.close();
	}

	/**
	 * The one way down: stops every timer of the connection, drops the transport, then decides
	 * what comes next.
	 */
	#drop(ending: Ending): void {
		const phase = this.#phase;
		this.#liveness.stop();
		this.#probe.stop();
		this.#retry.cancel();
		const transport = transportOf(this.#phase);
		transport?.close();
		this.#followed.forgetPending();
		const last = transport?.name ?? this.#status.transport;
		const initial = (phase.kind === 'connecting' || phase.kind === 'opened') && phase.initial;

		if (ending.kind === 'idle' || !this.#hasWork()) {
			this.#environment.watch(false);
			return this.#setPhase({ kind: 'idle', last });
		}
		if (ending.kind === 'final') {
			const state = ending.forbidden ? 'forbidden' : 'offline';
			return this.#setPhase({ kind: 'down', state, last, reason: ending.reason, wakes: false });
		}
		let now = ending.kind === 'lost' && ending.now;
		if (ending.kind === 'failed' && transport) {
			this.#options.policy.report(transport.name, ending.outcome);
			// Silent, or falling back to another transport: the next attempt goes at once.
			now = ending.outcome === 'silent' || this.#options.policy.next()?.name !== transport.name;
		}
		if (!this.#environment.online) {
			return this.#setPhase({ kind: 'down', state: 'offline', last, reason: 'This device is offline', wakes: true });
		}
		// Never connected yet (a first attempt that fell back at once): still 'connecting', so the
		// page does not claim a connection was lost.
		if (now) return this.#connect(initial);
		const retryAt = this.#retry.schedule(() => this.#connect(false));
		this.#setPhase({ kind: 'waiting', last, retryAt });
	}
}
