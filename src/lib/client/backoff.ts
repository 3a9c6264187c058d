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
