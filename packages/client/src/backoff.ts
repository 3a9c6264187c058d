/** Retry delays: full-jitter exponential backoff, and the server's `Retry-After`. */

export interface BackoffOptions {
	/** Ceiling of the first delay. Default 100 ms. */
	minMs?: number;
	/** Largest delay. Default 5,000 ms. */
	maxMs?: number;
}

/**
 * Delay before retry number `attempt` (0 for the first retry): a uniformly random time between 0
 * and `min(maxMs, minMs × 2^attempt)`. Full jitter spreads the clients that lost the same server
 * so they do not all come back in the same millisecond.
 */
export function backoff(attempt: number, { minMs = 100, maxMs = 5000 }: BackoffOptions = {}, random: () => number = Math.random): number {
	const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
	return Math.floor(random() * ceiling);
}

/** Longest `Retry-After` honoured; a server asking for more gets retried after this. */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * `Retry-After` in milliseconds: delta-seconds or an HTTP date; `undefined` when absent or not
 * understood. Capped at {@link MAX_RETRY_AFTER_MS}.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
	if (!value) return undefined;
	const trimmed = value.trim();
	let ms: number;
	if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
	else {
		if (!/^[A-Za-z]{3},/.test(trimmed)) return undefined; // an IMF-fixdate: "Wed, 21 Oct 2015 07:28:00 GMT"
		const date = Date.parse(trimmed);
		if (Number.isNaN(date)) return undefined;
		ms = Math.max(0, date - now);
	}
	return Math.min(ms, MAX_RETRY_AFTER_MS);
}
