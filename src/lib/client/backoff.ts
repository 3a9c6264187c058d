/** Shortest wait before a reconnect: long enough that a restarting server is not hammered. */
export const DEFAULT_BACKOFF_MIN_MS = 500;

/**
 * Longest wait between reconnects: a viewer comes back within this long after a server
 * returns, even after hours away, while thousands of idle tabs cost a server little.
 */
export const DEFAULT_BACKOFF_MAX_MS = 15_000;

/**
 * Full-jitter, capped exponential backoff: a wait in `[minMs, minMs + min(maxMs, minMs · 2^step)]`,
 * never above `maxMs`. The jitter spreads the reconnects of every viewer of a restarted server
 * instead of bringing them back in one wave.
 *
 * `step` counts failed attempts since the last healthy connection, from 0. `random` is
 * injectable for tests.
 */
export function backoff(
	step: number,
	minMs = DEFAULT_BACKOFF_MIN_MS,
	maxMs = DEFAULT_BACKOFF_MAX_MS,
	random: () => number = Math.random
): number {
	if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be a non-negative integer, got ${step}`);
	if (!(minMs >= 0 && maxMs >= minMs)) throw new RangeError(`need 0 <= minMs <= maxMs, got ${minMs} and ${maxMs}`);
	// 2^31 already exceeds any sane cap; clamping keeps the arithmetic finite.
	const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(step, 31));
	return Math.min(maxMs, minMs + Math.floor(random() * ceiling));
}

/**
 * Attempts after a lost connection that wait at most `DEFAULT_FAST_RETRY_MAX_MS`: a server that
 * restarts (a deploy, Ctrl-C and up-arrow) is usually back within seconds, and the page should be
 * back within about a second of it. 20 attempts cover roughly 15 s of downtime; after that the
 * waits grow to `DEFAULT_BACKOFF_MAX_MS` so that a long outage costs the server little.
 */
export const DEFAULT_FAST_RETRIES = 20;
/** Longest wait during the fast window: how late, at worst, a page sees a restarted server. */
export const DEFAULT_FAST_RETRY_MAX_MS = 1_000;

export interface ReconnectDelayOptions {
	minMs?: number;
	maxMs?: number;
	fastRetries?: number;
	fastMaxMs?: number;
	random?: () => number;
}

/**
 * The wait before reconnect attempt `step` (failed attempts since the last healthy connection,
 * from 0): uniform in `[minMs, fastMaxMs)` for the first `fastRetries` steps (jittered, so the
 * viewers of a restarted server come back spread over a second), then `backoff()` growing from
 * its second step.
 */
export function reconnectDelay(step: number, options: ReconnectDelayOptions = {}): number {
	const {
		minMs = DEFAULT_BACKOFF_MIN_MS,
		maxMs = DEFAULT_BACKOFF_MAX_MS,
		fastRetries = DEFAULT_FAST_RETRIES,
		fastMaxMs = DEFAULT_FAST_RETRY_MAX_MS,
		random = Math.random
	} = options;
	if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be a non-negative integer, got ${step}`);
	if (step < fastRetries) {
		const ceiling = Math.min(maxMs, Math.max(minMs, fastMaxMs));
		return minMs + Math.floor(random() * (ceiling - minMs));
	}
	return backoff(step - fastRetries + 1, minMs, maxMs, random);
}
