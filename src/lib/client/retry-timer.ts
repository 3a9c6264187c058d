import { reconnectDelay } from './backoff.js';

export interface RetryTimerOptions {
	backoffMinMs: number;
	backoffMaxMs: number;
	fastRetries: number;
	fastRetryMaxMs: number;
	random: () => number;
}

/**
 * The wait before the next reconnect attempt: counts failed attempts since the last healthy
 * connection and runs one retry at a time after `reconnectDelay` for that count: short at
 * first (a restarting server), growing later (a long outage).
 */
export class RetryTimer {
	readonly #options: RetryTimerOptions;
	#step = 0;
	#timer: ReturnType<typeof setTimeout> | undefined;

	constructor(options: RetryTimerOptions) {
		this.#options = options;
	}

	/** Runs `retry` after the next backoff wait; returns when, in epoch ms. */
	schedule(retry: () => void): number {
		this.cancel();
		const { backoffMinMs: minMs, backoffMaxMs: maxMs, fastRetries, fastRetryMaxMs: fastMaxMs, random } = this.#options;
		const delay = reconnectDelay(this.#step++, { minMs, maxMs, fastRetries, fastMaxMs, random });
		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			retry();
		}, delay);
		return Date.now() + delay;
	}

	cancel(): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
	}

	/** A healthy connection: the next wait is the shortest again. */
	reset(): void {
		this.#step = 0;
	}
}
