/**
 * The timers that tell a working connection from a dead one, for one transport at a time:
 *
 * - the attempt deadline: an attempt that has not opened (`connectTimeoutMs`), or has opened and
 *   delivered nothing (`firstMessageTimeoutMs`), by then has failed;
 * - the heartbeat: pings an open connection every `pingIntervalMs`, and gives up on one that has
 *   delivered nothing at all for `deadAfterMs` (a dead proxy, a laptop that slept).
 *
 * One interval does both heartbeat jobs. Everything stops with `stop()`.
 */
export class Liveness {
	readonly #pingIntervalMs: number;
	readonly #deadAfterMs: number;
	readonly #ping: () => void;
	readonly #dead: () => void;
	#deadline: ReturnType<typeof setTimeout> | undefined;
	#heartbeat: ReturnType<typeof setInterval> | undefined;
	#lastActivityAt = 0;

	constructor(options: { pingIntervalMs: number; deadAfterMs: number; ping: () => void; dead: () => void }) {
		this.#pingIntervalMs = options.pingIntervalMs;
		this.#deadAfterMs = options.deadAfterMs;
		this.#ping = options.ping;
		this.#dead = options.dead;
	}

	/** A new transport: counts from now, and starts the heartbeat. */
	start(): void {
		this.stop();
		this.#lastActivityAt = Date.now();
		this.#heartbeat = setInterval(() => this.#beat(), Math.min(this.#pingIntervalMs, this.#deadAfterMs));
	}

	/** Something arrived (or the transport opened): the connection is alive now. */
	touch(): void {
		this.#lastActivityAt = Date.now();
	}

	/** (Re)arms the attempt deadline: `expired` runs in `ms` unless `settle()` comes first. */
	expectWithin(ms: number, expired: () => void): void {
		clearTimeout(this.#deadline);
		this.#deadline = setTimeout(() => {
			this.#deadline = undefined;
			expired();
		}, ms);
	}

	/** The attempt succeeded: no deadline any more (the heartbeat carries on). */
	settle(): void {
		clearTimeout(this.#deadline);
		this.#deadline = undefined;
	}

	stop(): void {
		this.settle();
		clearInterval(this.#heartbeat);
		this.#heartbeat = undefined;
	}

	#beat(): void {
		if (Date.now() - this.#lastActivityAt >= this.#deadAfterMs) this.#dead();
		else this.#ping();
	}
}
