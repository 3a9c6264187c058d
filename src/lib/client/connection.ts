import type { ClientMessage, ServerMessage } from '../protocol/messages.js';
import { BackgroundProbe } from './background-probe.js';
import { Claims } from './claims.js';
import { PhaseCell, transportOf, type ConnectionStatus, type Ending, type Phase } from './connection-phase.js';
import { resolveConnectionOptions, type ConnectionOptions, type ResolvedConnectionOptions } from './connection-options.js';
import { defaultEnvironment, EnvironmentWatch } from './environment.js';
import type { ExecutionsListener } from './execution-list-feed.js';
import type { ExecutionListener } from './followed-executions.js';
import { Liveness } from './liveness.js';
import { RetryTimer } from './retry-timer.js';
import { routeMessage } from './route-message.js';
import { closeDecision, FORBIDDEN_REASON } from './transport/close-policy.js';
import type { ServerCheck } from './transport/server-check.js';
import type { Transport, TransportCallbacks, TransportClose, TransportFactory, TransportName } from './transport/transport.js';

export type { ConnectionOptions } from './connection-options.js';
export type { ConnectionState, ConnectionStatus } from './connection-phase.js';
export type { ConnectionEnvironment } from './environment.js';
export type { ExecutionsListener } from './execution-list-feed.js';
export type { ExecutionListener } from './followed-executions.js';

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
	readonly #claims: Claims;
	readonly #cell = new PhaseCell();
	readonly #environment: EnvironmentWatch;
	readonly #liveness: Liveness;
	readonly #probe: BackgroundProbe;

	#nextTransportId = 0;
	readonly #retry: RetryTimer;

	constructor(options: ConnectionOptions) {
		const resolved = resolveConnectionOptions(options);
		this.#options = resolved;
		this.#claims = new Claims(this.#send, {
			lingerMs: resolved.lingerMs,
			claimed: (wasIdle) => this.#ensureConnected(wasIdle),
			released: () => this.#drop({ kind: 'idle' })
		});
		this.#retry = new RetryTimer(resolved);
		this.#environment = new EnvironmentWatch(resolved.environment ?? defaultEnvironment(), () => this.#wake());
		this.#liveness = new Liveness({
			...resolved,
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
		return this.#cell.status;
	}

	/** Calls `listener` on every status change (not with the current one). Returns the unsubscribe function. */
	onStatus(listener: (status: ConnectionStatus) => void): () => void {
		return this.#cell.listen(listener);
	}

	/**
	 * Follows `executionId`. With `since`, the listener gets every event with seq > since; without,
	 * live events from the moment the server confirms. Returns the function that stops following.
	 */
	subscribe(executionId: string, since: number | undefined, listener: ExecutionListener): () => void {
		return this.#claims.follow(executionId, since, listener);
	}

	/**
	 * Follows the execution list (new executions, status and usage changes). Returns the
	 * function that stops following.
	 */
	subscribeExecutions(listener: ExecutionsListener): () => void {
		return this.#claims.followList(listener);
	}

	/** Tries at once (the Reconnect button, `online`, tab visible again). No-op while open or mid-attempt. */
	reconnectNow(): void {
		const kind = this.#phase.kind;
		if (this.#claims.active && (kind === 'waiting' || kind === 'down')) this.#connect(false);
	}

	// ── Transitions ────────────────────────────────────────────────────────────────────────────

	get #phase(): Phase {
		return this.#cell.phase;
	}

	/** Every phase change goes through here (`PhaseCell.set`: listeners hear only real changes). */
	#setPhase(next: Phase): void {
		this.#cell.set(next);
	}

	#ensureConnected(wasIdle: boolean): void {
		this.#environment.watch(true);
		// Down and not waiting for a retry: idle, refused for good, or waiting for `online`.
		if (this.#phase.kind === 'idle' || this.#phase.kind === 'down') this.#connect(wasIdle);
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
		onOpen: (id) => this.#from(id, () => this.#opened(), () => this.#probe.opened()),
		onMessage: (id, message) => this.#from(id, () => this.#onMessage(message), () => this.#probe.answered()),
		onInvalidMessage: (id, detail) =>
			this.#from(id, () => this.#options.onDiagnostic(`ignored an invalid server message: ${detail}`), () => this.#probe.failed()),
		onClose: (id, close) => this.#from(id, () => this.#onClose(close), () => this.#probe.failed())
	};

	#from(transportId: number, current: () => void, probe: () => void): void {
		if (transportId === transportOf(this.#phase)?.id) current();
		else if (this.#probe.owns(transportId)) probe();
	}

	/** connecting → opened. Not live yet: only a message from the server proves the connection carries anything. */
	#opened(): void {
		const phase = this.#phase;
		if (phase.kind !== 'connecting') return;
		this.#setPhase({ kind: 'opened', transport: phase.transport, initial: phase.initial, openedAt: Date.now() });
		this.#liveness.touch();
		this.#liveness.expectWithin(this.#options.firstMessageTimeoutMs, () => this.#attemptExpired());
		this.#claims.resubscribeAll();
	}

	/**
	 * Not open in time (failed), or open and silent in time (silent). Silence is evidence only
	 * where it can move us to another transport (a proxy that accepts the WebSocket upgrade and
	 * passes nothing). On the last resort (SSE: its stream is open, so the path carries data) it
	 * is a busy server: restarting would throw away the answer on its way and start over,
	 * "connecting" for ever. Keep the attempt; the heartbeat's dead-connection check still ends
	 * one that never says anything.
	 */
	#attemptExpired(): void {
		const phase = this.#phase;
		if (phase.kind === 'opened' && !this.#options.policy.canFallBackFrom(phase.transport.name)) return this.#liveness.settle();
		this.#drop({ kind: 'failed', outcome: phase.kind === 'opened' ? 'silent' : 'failed' });
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
		const { followed, list } = this.#claims;
		routeMessage(message, { followed, list, diagnostic: this.#options.onDiagnostic });
	}

	#onClose(close: TransportClose): void {
		const phase = this.#phase;
		const decision = closeDecision(close.code, phase.kind === 'live' ? Date.now() - phase.openedAt : 0);
		if (decision.action === 'final') return this.#drop({ kind: 'final', forbidden: decision.forbidden, reason: decision.reason });
		if (phase.kind !== 'live') return this.#drop({ kind: 'failed', outcome: 'failed' });
		this.#drop({ kind: 'lost', now: decision.delay === 'now' });
	}

	/** live → live on the probe's transport: subscribe everything on it, then close the old one. */
	#takeOver(probe: Transport): void {
		const previous = transportOf(this.#phase);
		this.#setPhase({ kind: 'live', transport: probe, openedAt: Date.now() });
		this.#liveness.touch();
		this.#claims.resubscribeAll();
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
		this.#claims.followed.forgetPending();
		const last = transport?.name ?? this.#cell.status.transport;
		const initial = (phase.kind === 'connecting' || phase.kind === 'opened') && phase.initial;

		if (ending.kind === 'idle' || !this.#claims.active) {
			this.#environment.watch(false);
			return this.#setPhase({ kind: 'idle', last });
		}
		if (ending.kind === 'final') {
			const state = ending.forbidden ? 'forbidden' : 'offline';
			return this.#setPhase({ kind: 'down', state, last, reason: ending.reason, wakes: false });
		}
		if (ending.kind === 'lost' || !transport) return this.#next(last, initial, ending.kind === 'lost' && ending.now);
		// A WebSocket that failed: only an HTTP answer says whether the path blocks WebSocket (fall
		// back) or the server is away (try WebSocket again soon; a restart is not a proxy).
		const check = this.#options.checkServer;
		if (ending.outcome === 'failed' && transport.name === 'websocket' && check && this.#environment.online) {
			return this.#check(check, transport.name, initial);
		}
		this.#failed(transport.name, ending.outcome, initial);
	}

	/** checking → forbidden (401/403) | the policy hears of the failure (HTTP answers) | waiting (no answer). */
	#check(check: () => Promise<ServerCheck>, name: TransportName, initial: boolean): void {
		const checking: Phase = { kind: 'checking', last: name, initial };
		this.#setPhase(checking);
		void check()
			.catch(() => 'down' as const)
			.then((answer) => {
				if (this.#phase !== checking) return; // reconnected, refused or let go meanwhile
				if (answer === 'forbidden') return this.#drop({ kind: 'final', forbidden: true, reason: FORBIDDEN_REASON });
				if (answer === 'up') return this.#failed(name, 'failed', initial);
				this.#next(name, initial, false);
			});
	}

	/** An attempt failed where the server answers: the policy hears of it and picks the next transport. */
	#failed(name: TransportName, outcome: 'failed' | 'silent', initial: boolean): void {
		this.#options.policy.report(name, outcome);
		// Silent, or falling back to another transport: the next attempt goes at once.
		this.#next(name, initial, outcome === 'silent' || this.#options.policy.next()?.name !== name);
	}

	/** → connecting at once, → waiting, or → down while the device is offline. */
	#next(last: TransportName | null, initial: boolean, now: boolean): void {
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
