import { RunwatchError } from '../errors.js';

export interface RateLimiterOptions {
	/** Units (events) per second the bucket refills with. */
	ratePerSecond: number;
	/** Most units the bucket holds: what may be sent at once after a quiet spell. */
	burst: number;
	/** Clock in milliseconds; a test passes a fake one. */
	now?: () => number;
}

interface Bucket {
	tokens: number;
	at: number;
}

/**
 * Token buckets, one per key (an ingest token). Built for the ingest hot path: a map lookup and
 * a little arithmetic per request.
 *
 * A request is admitted while its bucket is above zero and pays afterwards, once it is known
 * what it carried: the bucket may then go below zero, and that debt refuses the next requests
 * until it is refilled. So an over-rate sender is refused before its body is read, a batch never
 * has to be split to fit, and over any stretch of time no more than `rate × time + burst` (plus
 * one request) gets in.
 */
export class RateLimiter {
	readonly #rate: number;
	readonly #burst: number;
	readonly #now: () => number;
	readonly #buckets = new Map<string, Bucket>();

	constructor(options: RateLimiterOptions) {
		if (!(options.ratePerSecond > 0) || !Number.isFinite(options.ratePerSecond)) {
			throw new RangeError(`ratePerSecond must be a positive number, got ${options.ratePerSecond}`);
		}
		if (!(options.burst >= 1)) throw new RangeError(`burst must be at least 1, got ${options.burst}`);
		this.#rate = options.ratePerSecond;
		this.#burst = options.burst;
		this.#now = options.now ?? Date.now;
	}

	/** Throws `rate_limited` (with the seconds to wait) while `key`'s bucket is empty or in debt. */
	admit(key: string): void {
		const bucket = this.#refill(key);
		if (bucket.tokens > 0) return;
		const seconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.#rate));
		throw new RunwatchError(
			'rate_limited',
			`This ingest token sent more than ${this.#rate} events per second; retry in ${seconds} s`,
			{ retryAfterSeconds: seconds }
		);
	}

	/** Takes `units` from `key`'s bucket, into debt if need be. */
	charge(key: string, units: number): void {
		this.#refill(key).tokens -= units;
	}

	#refill(key: string): Bucket {
		const now = this.#now();
		let bucket = this.#buckets.get(key);
		if (!bucket) {
			bucket = { tokens: this.#burst, at: now };
			this.#buckets.set(key, bucket);
			return bucket;
		}
		if (now > bucket.at) {
			bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
			bucket.at = now;
		}
		return bucket;
	}
}
