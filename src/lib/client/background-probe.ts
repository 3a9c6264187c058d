import type { TransportPolicy } from './transport/select.js';
import type { Transport, TransportFactory, TransportName } from './transport/transport.js';

export interface BackgroundProbeOptions {
	policy: TransportPolicy;
	/** How long after going live on a fallback the preferred transport is tried. */
	intervalMs: number;
	/** A probe that has not answered by then has failed. */
	deadlineMs: number;
	/** Creates the probe's transport and connects it with the manager's callbacks. */
	start: (factory: TransportFactory) => Transport;
	/** The probe answered: it becomes the connection (the manager subscribes everything on it). */
	takeOver: (probe: Transport) => void;
}

/**
 * While the connection runs on a fallback transport, tries the preferred one now and then in
 * the background. A probe only pings; when it answers, the policy prefers its transport again
 * and the manager moves every subscription over to it from the last seq held, then closes the
 * old transport: events that arrive on both are dropped by seq, none is missed.
 */
export class BackgroundProbe {
	readonly #options: BackgroundProbeOptions;
	#probe: Transport | undefined;
	/** The transport the connection is live on, which the probe would replace. */
	#current: TransportName | undefined;
	#timer: ReturnType<typeof setTimeout> | undefined;
	#deadline: ReturnType<typeof setTimeout> | undefined;

	constructor(options: BackgroundProbeOptions) {
		this.#options = options;
	}

	/** The connection is live on `current`: probe later if a better transport exists. */
	schedule(current: TransportName): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
		this.#current = current;
		if (!this.#options.policy.probeTarget(current)) return;
		this.#timer = setTimeout(() => this.#run(current), this.#options.intervalMs);
	}

	/** Whether a callback with this transport id is the running probe's. */
	owns(transportId: number): boolean {
		return this.#probe?.id === transportId;
	}

	opened(): void {
		this.#probe?.send({ type: 'ping' });
	}

	/** Any server message proves the probe works. */
	answered(): void {
		this.#end(true);
	}

	/** Closed, or sent something invalid. */
	failed(): void {
		this.#end(false);
	}

	/** Cancels the timer and closes a running probe. */
	stop(): void {
		clearTimeout(this.#timer);
		clearTimeout(this.#deadline);
		this.#timer = this.#deadline = undefined;
		this.#probe?.close();
		this.#probe = undefined;
	}

	#run(current: TransportName): void {
		this.#timer = undefined;
		const factory = this.#options.policy.probeTarget(current);
		if (!factory || this.#probe) return;
		this.#deadline = setTimeout(() => this.#end(false), this.#options.deadlineMs);
		this.#probe = this.#options.start(factory);
	}

	#end(worked: boolean): void {
		const probe = this.#probe;
		clearTimeout(this.#deadline);
		this.#probe = this.#deadline = undefined;
		if (!probe) return;
		if (!worked) {
			probe.close();
			// The connection is still live on the fallback (a drop would have stopped us).
			if (this.#current) this.schedule(this.#current);
			return;
		}
		this.#options.policy.restore(probe.name);
		this.#options.takeOver(probe);
	}
}
