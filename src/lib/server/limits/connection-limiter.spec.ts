import { describe, expect, test } from 'vitest';
import { RunwatchError } from '../errors.js';
import { ConnectionLimiter } from './connection-limiter.js';

describe('ConnectionLimiter', () => {
	test('counts per address up to max, then refuses with too_many_connections', () => {
		const limiter = new ConnectionLimiter(2);
		const a1 = limiter.acquire('10.0.0.1');
		limiter.acquire('10.0.0.1');
		let error: unknown;
		try {
			limiter.acquire('10.0.0.1');
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(RunwatchError);
		expect((error as RunwatchError).code).toBe('too_many_connections');
		expect((error as RunwatchError).status).toBe(429);
		// another address is not affected
		limiter.acquire('10.0.0.2');
		// releasing makes room; releasing twice frees one only
		a1();
		a1();
		expect(limiter.count('10.0.0.1')).toBe(1);
		limiter.acquire('10.0.0.1');
		expect(() => limiter.acquire('10.0.0.1')).toThrow(RunwatchError);
	});

	test('forgets an address once its last stream ends', () => {
		const limiter = new ConnectionLimiter(1);
		const release = limiter.acquire('::1');
		release();
		expect(limiter.count('::1')).toBe(0);
		limiter.acquire('::1');
	});

	test('misuse throws at once', () => {
		expect(() => new ConnectionLimiter(0)).toThrow(RangeError);
		expect(() => new ConnectionLimiter(1.5)).toThrow(RangeError);
	});
});
