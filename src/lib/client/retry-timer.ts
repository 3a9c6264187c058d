import { backoff } from './backoff.js';

export interface RetryTimerOptions {
	minMs: number;
	maxMs: number;
	random: () => number;
}

/**
 * The wait before the next reconnect attempt: counts failed attempts since the last healthy
 * connection and runs one retry at a time after the backoff for that count.
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
		const { minMs, maxMs, random } = this.#options;
		const delay = backoff(this.#step++, minMs, maxMs, random);
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
