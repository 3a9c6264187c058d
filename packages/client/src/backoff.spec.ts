import { expect, test } from 'vitest';
import { backoff, MAX_RETRY_AFTER_MS, parseRetryAfter } from './backoff.js';

test('full jitter: between 0 and min(max, min × 2^attempt)', () => {
	expect(backoff(0, { minMs: 100, maxMs: 5000 }, () => 0)).toBe(0);
	expect(backoff(0, { minMs: 100, maxMs: 5000 }, () => 0.999999)).toBe(99);
	expect(backoff(3, { minMs: 100, maxMs: 5000 }, () => 0.5)).toBe(400);
	expect(backoff(10, { minMs: 100, maxMs: 5000 }, () => 0.999999)).toBe(4999);
	expect(backoff(10_000, {}, () => 0.5)).toBe(2500);
	for (let attempt = 0; attempt < 20; attempt++) {
		const delay = backoff(attempt, { minMs: 100, maxMs: 1000 });
		expect(delay).toBeGreaterThanOrEqual(0);
		expect(delay).toBeLessThan(1000);
	}
});

test('Retry-After: seconds or an HTTP date, capped; garbage is ignored', () => {
	const now = Date.parse('2026-01-01T00:00:00Z');
	expect(parseRetryAfter('3', now)).toBe(3000);
	expect(parseRetryAfter(' 0 ', now)).toBe(0);
	expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
	expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:05 GMT', now)).toBe(0);
	expect(parseRetryAfter('86400', now)).toBe(MAX_RETRY_AFTER_MS);
	expect(parseRetryAfter('soon', now)).toBeUndefined();
	expect(parseRetryAfter('-1', now)).toBeUndefined();
	expect(parseRetryAfter(null, now)).toBeUndefined();
});
