import { describe, expect, it } from 'vitest';
import {
	backoff,
	DEFAULT_BACKOFF_MAX_MS,
	DEFAULT_BACKOFF_MIN_MS,
	DEFAULT_FAST_RETRIES,
	DEFAULT_FAST_RETRY_MAX_MS,
	reconnectDelay
} from './backoff.js';

describe('backoff', () => {
	it('waits between min and min + min·2^step', () => {
		expect(backoff(0, 500, 15_000, () => 0)).toBe(500);
		expect(backoff(0, 500, 15_000, () => 0.999999)).toBe(999);
		expect(backoff(3, 500, 15_000, () => 0.999999)).toBe(500 + 3999);
	});

	it('never exceeds max, however many steps', () => {
		for (const step of [5, 10, 31, 100, 10_000]) {
			for (const r of [0, 0.5, 0.999999]) {
				const delay = backoff(step, 500, 15_000, () => r);
				expect(delay).toBeGreaterThanOrEqual(500);
				expect(delay).toBeLessThanOrEqual(15_000);
			}
		}
		expect(backoff(100, 500, 15_000, () => 0.999999)).toBe(15_000);
	});

	it('stays within bounds with real randomness and the documented defaults', () => {
		for (let step = 0; step < 40; step++) {
			const delay = backoff(step);
			expect(delay).toBeGreaterThanOrEqual(DEFAULT_BACKOFF_MIN_MS);
			expect(delay).toBeLessThanOrEqual(DEFAULT_BACKOFF_MAX_MS);
		}
	});

	it('rejects nonsense arguments', () => {
		expect(() => backoff(-1)).toThrow(RangeError);
		expect(() => backoff(1.5)).toThrow(RangeError);
		expect(() => backoff(0, 2000, 1000)).toThrow(RangeError);
	});
});

describe('reconnectDelay', () => {
	it('stays within [min, fastMax) for the first fastRetries steps, jittered', () => {
		for (let step = 0; step < DEFAULT_FAST_RETRIES; step++) {
			expect(reconnectDelay(step, { random: () => 0 })).toBe(DEFAULT_BACKOFF_MIN_MS);
			expect(reconnectDelay(step, { random: () => 0.999999 })).toBe(DEFAULT_FAST_RETRY_MAX_MS - 1);
		}
		expect(reconnectDelay(0, { random: () => 0.5 })).toBe(750);
	});

	it('then grows like backoff from its second step, up to max', () => {
		const opts = { fastRetries: 3, random: () => 0.999999 };
		expect(reconnectDelay(3, opts)).toBe(backoff(1, 500, 15_000, opts.random));
		expect(reconnectDelay(4, opts)).toBe(backoff(2, 500, 15_000, opts.random));
		expect(reconnectDelay(100, opts)).toBe(DEFAULT_BACKOFF_MAX_MS);
	});

	it('never exceeds max, even when max is below the fast ceiling', () => {
		expect(reconnectDelay(0, { minMs: 100, maxMs: 300, random: () => 0.999999 })).toBeLessThanOrEqual(300);
	});

	it('rejects a bad step', () => {
		expect(() => reconnectDelay(-1)).toThrow(RangeError);
	});
});
