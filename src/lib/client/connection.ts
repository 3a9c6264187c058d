import type { Execution } from '../protocol/executions.js';
import type { ServerMessage } from '../protocol/messages.js';
import { backoff, DEFAULT_BACKOFF_MAX_MS, DEFAULT_BACKOFF_MIN_MS } from './backoff.js';
import { FollowedExecutions, type ExecutionListener, type ListenerEntry } from './followed-executions.js';
import { closeDecision } from './transport/close-policy.js';
import { firstSupported, type TransportPolicy } from './transport/select.js';
import type {
	Transport,
	TransportCallbacks,
	TransportClose,
	TransportFactory,
	TransportName
} from './transport/transport.js';

/**
 * - `connecting`: the first attempt since the page started following something.
 * - `open`: connected; events flow.
 * - `reconnecting`: lost the connection; trying again (`nextRetryAt` says when, or null while an
 *   attempt is in flight).
 * - `offline`: not connected and not retrying on a timer: the browser is offline (waits for
 *   `online`), the server refused us for good, or nothing is followed any more.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'offline';

export type { ExecutionListener } from './followed-executions.js';

export interface ConnectionStatus {
	state: ConnectionState;
	/** The transport in use or last used; null before the first attempt. */
	transport: TransportName | null;
	/** Epoch ms of the next attempt while `reconnecting` and waiting; otherwise null. */
	nextRetryAt: number | null;
	/** Why the connection is `offline`, for people. */
	reason: string | null;
}

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

/** The browser signals the manager reacts to; injectable so tests need no DOM. */
export interface ConnectionEnvironment {
	/** Receives `online`. */
	window?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;
	/** Receives `visibilitychange`. */
	document?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> & { visibilityState: string };
	navigator?: { onLine: boolean };
}

export interface ConnectionOptions {
	/** Transports in order of preference; the first supported one is used (unless `policy` is given). */
	transports: TransportFactory[];
	/** Chooses the transport per attempt and when to probe for a better one (`transport/select.ts`). */
	policy?: TransportPolicy;
	/** An attempt that has not opened by then has failed. Default 5 s. */
	connectTimeoutMs?: number;
	/**
	 * An open connection that has delivered no message by then is silent (a proxy that accepted
	 * the upgrade and passes nothing): the policy hears of it and we reconnect. Default 4 s.
	 */
	firstMessageTimeoutMs?: number;
	/** While on a fallback transport, how often to probe the preferred one. Default 30 s. */
	probeIntervalMs?: number;
	/** Application ping interval. Default 20 s: below common proxy idle timeouts (30–60 s). */
	pingIntervalMs?: number;
	/** No message at all for this long means the connection is dead. Default: two ping intervals. */
	deadAfterMs?: number;
	/** How long the socket stays open after the last listener leaves, so navigating between pages reuses it. Default 5 s. */
	lingerMs?: number;
	/** Backoff bounds; see `backoff.ts`. Defaults 500 ms and 15 s. */
	backoffMinMs?: number;
	backoffMaxMs?: number;
	random?: () => number;
	environment?: ConnectionEnvironment;
	/** Diagnostics that need no action from the caller (a malformed server frame). */
	onDiagnostic?: (message: string) => void;
}

export const DEFAULT_PING_INTERVAL_MS = 20_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_FIRST_MESSAGE_TIMEOUT_MS = 4_000;
export const DEFAULT_PROBE_INTERVAL_MS = 30_000;
export const DEFAULT_LINGER_MS = 5_000;
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

function defaultEnvironment(): ConnectionEnvironment {
	return {
		window: typeof window === 'undefined' ? undefined : window,
		document: typeof document === 'undefined' ? undefined : document,
		navigator: typeof navigator === 'undefined' ? undefined : navigator
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
	readonly #policy: TransportPolicy;
	readonly #connectTimeoutMs: number;
	readonly #firstMessageTimeoutMs: number;
	readonly #probeIntervalMs: number;
	readonly #pingIntervalMs: number;
	readonly #deadAfterMs: number;
	readonly #lingerMs: number;
	readonly #backoffMinMs: number;
	readonly #backoffMaxMs: number;
	readonly #random: () => number;
	readonly #env: ConnectionEnvironment;
	readonly #diagnostic: (message: string) => void;

	readonly #followed = new FollowedExecutions((message) => {
		if (!this.#transportOpen || !this.#transport) return false; // sent on open
		this.#transport.send(message);
		return true;
	});
	readonly #listListeners = new Set<ExecutionsListener>();
	readonly #statusListeners = new Set<(status: ConnectionStatus) => void>();
	#status: ConnectionStatus = { state: 'connecting', transport: null, nextRetryAt: null, reason: null };

	#transport: Transport | undefined;
	#transportOpen = false;
	/** A message has arrived on the current transport. */
	#transportHealthy = false;
	/** Closes an attempt that does not open, or opens and stays silent, in time. */
	#attemptTimer: ReturnType<typeof setTimeout> | undefined;
	/** A background attempt on the preferred transport while we run on a fallback. */
	#probe: Transport | undefined;
	#probeTimer: ReturnType<typeof setTimeout> | undefined;
	#probeDeadline: ReturnType<typeof setTimeout> | undefined;
	#nextTransportId = 0;
	#openedAt = 0;
	#lastActivityAt = 0;
	/** Failed attempts since the last healthy connection (one that delivered a message). */
	#step = 0;
	#heartbeatTimer: ReturnType<typeof setInterval> | undefined;
	#retryTimer: ReturnType<typeof setTimeout> | undefined;
	#lingerTimer: ReturnType<typeof setTimeout> | undefined;
	#watchingEnvironment = false;

	constructor(options: ConnectionOptions) {
		if (options.transports.length === 0) throw new TypeError('Connection needs at least one transport factory');
		this.#policy = options.policy ?? firstSupported(options.transports);
		this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
		this.#firstMessageTimeoutMs = options.firstMessageTimeoutMs ?? DEFAULT_FIRST_MESSAGE_TIMEOUT_MS;
		this.#probeIntervalMs = options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
		this.#pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
		this.#deadAfterMs = options.deadAfterMs ?? 2 * this.#pingIntervalMs;
		this.#lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
		this.#backoffMinMs = options.backoffMinMs ?? DEFAULT_BACKOFF_MIN_MS;
		this.#backoffMaxMs = options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
		this.#random = options.random ?? Math.random;
		this.#env = options.environment ?? defaultEnvironment();
		this.#diagnostic = options.onDiagnostic ?? ((message) => console.warn(`[runwatch] ${message}`));
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

	/** A new use of the connection: cancels a pending linger. Returns whether it was idle. */
	#claim(): boolean {
		clearTimeout(this.#lingerTimer);
		this.#lingerTimer = undefined;
		return !this.#hasWork();
	}

	#ensureConnected(wasIdle: boolean): void {
		this.#watchEnvironment(true);
		// Down and not waiting for a retry: idle, refused for good, or waiting for `online`.
		if (!this.#transport && this.#retryTimer === undefined) this.#connect(wasIdle ? 'connecting' : 'reconnecting');
	}

	/** Tries at once (the Reconnect button, `online`, tab visible again). No-op while open or mid-attempt. */
	reconnectNow(): void {
		if (!this.#hasWork() || this.#transport) return;
		this.#connect('reconnecting');
	}

	#removeListener(executionId: string, entry: ListenerEntry): void {
		if (!this.#followed.remove(executionId, entry)) return;
		if (this.#transportOpen) this.#transport?.send({ type: 'unsubscribe', executionId });
		this.#lingerIfIdle();
	}

	/**
	 * Follows the execution list (new executions, status and usage changes). Returns the
	 * function that stops following.
	 */
	subscribeExecutions(listener: ExecutionsListener): () => void {
		const wasIdle = this.#claim();
		this.#listListeners.add(listener);
		if (this.#listListeners.size === 1 && this.#transportOpen) this.#transport?.send({ type: 'subscribe-executions' });
		this.#ensureConnected(wasIdle);
		return once(() => {
			this.#listListeners.delete(listener);
			if (this.#listListeners.size === 0 && this.#transportOpen) this.#transport?.send({ type: 'unsubscribe-executions' });
			this.#lingerIfIdle();
		});
	}

	#hasWork(): boolean {
		return this.#followed.size > 0 || this.#listListeners.size > 0;
	}

	#lingerIfIdle(): void {
		if (!this.#hasWork()) {
			clearTimeout(this.#lingerTimer);
			this.#lingerTimer = setTimeout(() => {
				this.#lingerTimer = undefined;
				this.#disconnect({ kind: 'idle' });
			}, this.#lingerMs);
		}
	}

	#setStatus(next: ConnectionStatus): void {
		const current = this.#status;
		if (
			current.state === next.state &&
			current.transport === next.transport &&
			current.nextRetryAt === next.nextRetryAt &&
			current.reason === next.reason
		) {
			return;
		}
		this.#status = next;
		for (const listener of [...this.#statusListeners]) listener(next);
	}

	#connect(state: 'connecting' | 'reconnecting'): void {
		clearTimeout(this.#retryTimer);
		this.#retryTimer = undefined;
		const factory = this.#policy.next();
		if (!factory) {
			this.#setStatus({ state: 'offline', transport: null, nextRetryAt: null, reason: 'This browser cannot connect for live updates' });
			return;
		}
		const transport = factory.create(++this.#nextTransportId);
		this.#transport = transport;
		this.#transportOpen = false;
		this.#transportHealthy = false;
		this.#lastActivityAt = Date.now();
		this.#armAttemptTimer(this.#connectTimeoutMs);
		// One timer does both jobs: pings an open connection, and gives up on one that has been
		// silent (or stuck connecting) for deadAfterMs.
		clearInterval(this.#heartbeatTimer);
		this.#heartbeatTimer = setInterval(() => this.#heartbeat(), Math.min(this.#pingIntervalMs, this.#deadAfterMs));
		this.#setStatus({ state, transport: factory.name, nextRetryAt: null, reason: null });
		transport.connect(this.#callbacks);
	}

	/**
	 * Shared by every transport this manager creates. A callback counts only if it comes from the
	 * current transport or the running probe; anything from one already dropped is ignored.
	 */
	readonly #callbacks: TransportCallbacks = {
		onOpen: (id) => {
			if (id === this.#transport?.id) this.#onOpen();
			else if (id === this.#probe?.id) this.#probe.send({ type: 'ping' });
		},
		onMessage: (id, message) => {
			if (id === this.#transport?.id) this.#onMessage(message);
			else if (id === this.#probe?.id) this.#endProbe(true);
		},
		onInvalidMessage: (id, detail) => {
			if (id === this.#transport?.id) this.#diagnostic(`ignored an invalid server message: ${detail}`);
			else if (id === this.#probe?.id) this.#endProbe(false);
		},
		onClose: (id, close) => {
			if (id === this.#transport?.id) this.#onClose(close);
			else if (id === this.#probe?.id) this.#endProbe(false);
		}
	};

	#onOpen(): void {
		const transport = this.#transport;
		if (!transport) return;
		this.#transportOpen = true;
		if (!this.#transportHealthy) this.#armAttemptTimer(this.#firstMessageTimeoutMs);
		this.#openedAt = this.#lastActivityAt = Date.now();
		// Not 'open' yet: only a message from the server proves the connection carries anything
		// (a proxy may accept the upgrade and pass nothing). See #onMessage.
		this.#resubscribeAll();
	}

	/** After (re)connecting or switching transport: everything followed, from the last seq held. */
	#resubscribeAll(): void {
		this.#followed.resubscribeAll();
		if (this.#listListeners.size > 0) this.#transport?.send({ type: 'subscribe-executions' });
	}

	#heartbeat(): void {
		if (Date.now() - this.#lastActivityAt >= this.#deadAfterMs) {
			this.#disconnect({ kind: 'retry', now: false });
			return;
		}
		if (this.#transportOpen) this.#transport?.send({ type: 'ping' });
	}

	/** One timer per attempt: not open in time, or open and silent in time, and the attempt has failed. */
	#armAttemptTimer(ms: number): void {
		clearTimeout(this.#attemptTimer);
		const transport = this.#transport;
		this.#attemptTimer = setTimeout(() => {
			this.#attemptTimer = undefined;
			if (!transport || transport !== this.#transport || this.#transportHealthy) return;
			this.#policy.report(transport.name, this.#transportOpen ? 'silent' : 'failed');
			// Silent, or falling back to another transport: the next attempt goes at once; a slow
			// open of the same transport backs off.
			const switching = this.#policy.next()?.name !== transport.name;
			this.#disconnect({ kind: 'retry', now: this.#transportOpen || switching, reported: true });
		}, ms);
	}

	#onMessage(message: ServerMessage): void {
		this.#lastActivityAt = Date.now();
		this.#step = 0; // a message proves the connection healthy
		if (!this.#transportHealthy && this.#transport) {
			this.#transportHealthy = true;
			clearTimeout(this.#attemptTimer);
			this.#attemptTimer = undefined;
			this.#policy.report(this.#transport.name, 'healthy');
			this.#setStatus({ state: 'open', transport: this.#transport.name, nextRetryAt: null, reason: null });
			this.#scheduleProbe();
		}
		switch (message.type) {
			case 'event':
				return this.#followed.onEvents(message.executionId, [message.event]);
			case 'events':
				return this.#followed.onEvents(message.executionId, message.events);
			case 'subscribed':
				return this.#followed.onSubscribed(message.executionId, message.lastSeq);
			case 'error': {
				const error = { code: message.code, message: message.message };
				if (!message.executionId || !this.#followed.onError(message.executionId, error)) {
					this.#diagnostic(`server error ${message.code}: ${message.message}`);
				}
				return;
			}
			case 'execution':
				for (const listener of [...this.#listListeners]) listener.onExecution(message.execution);
				return;
			case 'execution-deleted':
				for (const listener of [...this.#listListeners]) listener.onDeleted?.(message.executionId);
				return;
			case 'executions-subscribed':
				for (const listener of [...this.#listListeners]) listener.onSubscribed?.();
				return;
			case 'pong':
			case 'session': // the SSE transport's own business; it never needs to reach here
				return;
		}
	}

	#onClose(close: TransportClose): void {
		const decision = closeDecision(close.code);
		if (decision.action === 'final') return this.#disconnect({ kind: 'final', reason: decision.reason });
		const stable = this.#transportOpen && Date.now() - this.#openedAt >= MIN_STABLE_MS;
		if (this.#transport && !this.#transportHealthy) this.#policy.report(this.#transport.name, 'failed');
		// Falling back to another transport: no reason to wait.
		const switching = this.#transport !== undefined && this.#policy.next()?.name !== this.#transport.name;
		this.#disconnect({ kind: 'retry', now: (decision.delay === 'now' && stable) || switching, reported: true });
	}

	/**
	 * While on a fallback, tries the preferred transport now and then in the background. When it
	 * delivers a message, it takes over: every execution is subscribed on it from the last seq
	 * held, and only then is the old transport closed, so no event is missed (the overlap is
	 * dropped by seq).
	 */
	#scheduleProbe(): void {
		clearTimeout(this.#probeTimer);
		this.#probeTimer = undefined;
		const current = this.#transport;
		if (!current || !this.#policy.probeTarget(current.name)) return;
		this.#probeTimer = setTimeout(() => this.#runProbe(), this.#probeIntervalMs);
	}

	#runProbe(): void {
		this.#probeTimer = undefined;
		const current = this.#transport;
		const factory = current ? this.#policy.probeTarget(current.name) : null;
		if (!current || !factory || this.#probe) return;
		const probe = factory.create(++this.#nextTransportId);
		this.#probe = probe;
		this.#probeDeadline = setTimeout(() => this.#endProbe(false), this.#connectTimeoutMs + this.#firstMessageTimeoutMs);
		probe.connect(this.#callbacks);
	}

	#endProbe(worked: boolean): void {
		const probe = this.#probe;
		clearTimeout(this.#probeDeadline);
		this.#probe = this.#probeDeadline = undefined;
		if (!probe) return;
		if (!worked || !this.#transportHealthy) {
			probe.close();
			this.#scheduleProbe();
			return;
		}
		this.#policy.restore(probe.name);
		// The probe takes over. Subscribe everything on it from the last seq held, then close the
		// old transport: events that arrive on both are dropped by seq, none is missed.
		const previous = this.#transport;
		this.#transport = probe;
		this.#transportOpen = true;
		this.#openedAt = this.#lastActivityAt = Date.now();
		this.#resubscribeAll();
		previous?.close();
		this.#setStatus({ state: 'open', transport: probe.name, nextRetryAt: null, reason: null });
	}

	/**
	 * The one way down: stops timers, drops the transport, then decides what comes next.
	 * - `idle`: nothing is followed; stay down.
	 * - `final`: the server refused us; stay down until `reconnectNow()`.
	 * - `retry`: at once or after backoff; while the browser is offline, wait for `online`.
	 */
	#disconnect(
		next: { kind: 'idle' } | { kind: 'final'; reason: string } | { kind: 'retry'; now: boolean; reported?: boolean }
	): void {
		clearInterval(this.#heartbeatTimer);
		clearTimeout(this.#retryTimer);
		clearTimeout(this.#attemptTimer);
		clearTimeout(this.#probeTimer);
		this.#heartbeatTimer = this.#retryTimer = this.#attemptTimer = this.#probeTimer = undefined;
		clearTimeout(this.#probeDeadline);
		this.#probe?.close();
		this.#probe = this.#probeDeadline = undefined;
		const transport = this.#transport;
		if (next.kind === 'retry' && !next.reported && transport && !this.#transportHealthy) {
			this.#policy.report(transport.name, 'failed');
		}
		this.#transport = undefined;
		this.#transportOpen = false;
		transport?.close();
		this.#followed.forgetPending();
		const name = transport?.name ?? this.#status.transport;

		if (next.kind === 'idle' || !this.#hasWork()) {
			this.#watchEnvironment(false);
			this.#setStatus({ state: 'offline', transport: name, nextRetryAt: null, reason: 'Not following any execution' });
			return;
		}
		if (next.kind === 'final') {
			this.#setStatus({ state: 'offline', transport: name, nextRetryAt: null, reason: next.reason });
			return;
		}
		if (this.#env.navigator?.onLine === false) {
			this.#setStatus({ state: 'offline', transport: name, nextRetryAt: null, reason: 'This device is offline' });
			return;
		}
		if (next.now) {
			// Never connected yet (a first attempt that fell back at once): still 'connecting', so
			// the page does not claim a connection was lost.
			this.#connect(this.#status.state === 'connecting' ? 'connecting' : 'reconnecting');
			return;
		}
		const delay = backoff(this.#step, this.#backoffMinMs, this.#backoffMaxMs, this.#random);
		this.#step++;
		this.#retryTimer = setTimeout(() => this.#connect('reconnecting'), delay);
		this.#setStatus({ state: 'reconnecting', transport: name, nextRetryAt: Date.now() + delay, reason: null });
	}

	readonly #onOnline = (): void => this.reconnectNow();
	readonly #onVisibility = (): void => {
		if (this.#env.document?.visibilityState === 'visible') this.reconnectNow();
	};

	#watchEnvironment(on: boolean): void {
		if (on === this.#watchingEnvironment) return;
		this.#watchingEnvironment = on;
		const method = on ? 'addEventListener' : 'removeEventListener';
		this.#env.window?.[method]('online', this.#onOnline);
		this.#env.document?.[method]('visibilitychange', this.#onVisibility);
	}
}
