import { MAX_FAILED_SIGN_INS, SIGN_IN_WINDOW_MS } from '../../protocol/limits.js';

/**
 * Failed sign-ins per client address, in fixed windows: after MAX_FAILED_SIGN_INS failures an
 * address waits for its window to end (`retryAfterSeconds`). Successes do not count.
 */
export class SignInLimiter {
	readonly #failures = new Map<string, { count: number; resetAt: number }>();
	readonly #max: number;
	readonly #windowMs: number;

	constructor(options: { max?: number; windowMs?: number } = {}) {
		this.#max = options.max ?? MAX_FAILED_SIGN_INS;
		this.#windowMs = options.windowMs ?? SIGN_IN_WINDOW_MS;
	}

	/** Seconds this address must wait before trying again, or 0. */
	retryAfterSeconds(address: string, now = Date.now()): number {
		const entry = this.#failures.get(address);
		if (!entry || entry.resetAt <= now || entry.count < this.#max) return 0;
		return Math.max(1, Math.ceil((entry.resetAt - now) / 1000));
	}

	recordFailure(address: string, now = Date.now()): void {
		// Old windows go first, so that the map holds only addresses failing now.
		for (const [key, entry] of this.#failures) if (entry.resetAt <= now) this.#failures.delete(key);
		const entry = this.#failures.get(address);
		if (entry) entry.count++;
		else this.#failures.set(address, { count: 1, resetAt: now + this.#windowMs });
	}
}
