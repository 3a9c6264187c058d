import { describe, expect, test } from 'vitest';
import { RunwatchError } from '../errors.js';
import { RateLimiter } from './rate-limiter.js';

function limiter(ratePerSecond: number, burst: number) {
	const clock = { now: 0 };
	return { clock, limiter: new RateLimiter({ ratePerSecond, burst, now: () => clock.now }) };
}

function refusal(fn: () => void): RunwatchError | undefined {
	try {
		fn();
		return undefined;
	} catch (error) {
		return error as RunwatchError;
	}
}

describe('RateLimiter', () => {
	test('a fresh key has the whole burst', () => {
		const { limiter: l } = limiter(10, 20);
		for (let i = 0; i < 20; i++) {
			l.admit('a');
			l.charge('a', 1);
		}
		const error = refusal(() => l.admit('a'));
		expect(error).toBeInstanceOf(RunwatchError);
		expect(error!.code).toBe('rate_limited');
		expect(error!.status).toBe(429);
		expect(error!.retryAfterSeconds).toBe(1);
	});

	test('admits while above zero; a big batch pays afterwards and its debt sets Retry-After', () => {
		const { limiter: l, clock } = limiter(100, 200);
		l.admit('a');
		l.charge('a', 1000); // a full batch: 200 - 1000 = -800
		const error = refusal(() => l.admit('a'));
		expect(error!.retryAfterSeconds).toBe(9); // (1 + 800) / 100, rounded up
		clock.now = 8_000; // +800: back to 0, still not above it
		expect(refusal(() => l.admit('a'))?.code).toBe('rate_limited');
		clock.now = 8_010; // +1
		expect(refusal(() => l.admit('a'))).toBeUndefined();
	});

	test('refills at the rate, never past the burst', () => {
		const { limiter: l, clock } = limiter(10, 20);
		l.charge('a', 20);
		expect(refusal(() => l.admit('a'))).toBeDefined();
		clock.now = 500; // +5
		l.admit('a');
		l.charge('a', 5);
		expect(refusal(() => l.admit('a'))).toBeDefined();
		clock.now = 3_600_000; // an hour later: full, but only 20
		l.charge('a', 20);
		expect(refusal(() => l.admit('a'))).toBeDefined();
	});

	test('keys are independent', () => {
		const { limiter: l } = limiter(1, 1);
		l.charge('a', 5);
		expect(refusal(() => l.admit('a'))).toBeDefined();
		expect(refusal(() => l.admit('b'))).toBeUndefined();
	});

	test('over a long stretch, what gets in is about rate × time + burst', () => {
		const { limiter: l, clock } = limiter(1000, 2000);
		let accepted = 0;
		for (clock.now = 0; clock.now < 10_000; clock.now += 7) {
			if (refusal(() => l.admit('a'))) continue;
			l.charge('a', 50);
			accepted += 50;
		}
		expect(accepted).toBeGreaterThan(10 * 1000);
		expect(accepted).toBeLessThanOrEqual(10 * 1000 + 2000 + 50);
	});

	test('misuse throws at once', () => {
		expect(() => new RateLimiter({ ratePerSecond: 0, burst: 1 })).toThrow(RangeError);
		expect(() => new RateLimiter({ ratePerSecond: Infinity, burst: 1 })).toThrow(RangeError);
		expect(() => new RateLimiter({ ratePerSecond: 1, burst: 0 })).toThrow(RangeError);
	});
});
