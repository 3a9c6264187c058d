import { RunwatchError } from '../errors.js';

/**
 * Counts live streams (WebSocket connections and SSE streams) per client address, so that one
 * address cannot hold every socket and session the server has. `acquire` before accepting;
 * the returned release function is called when the stream ends (calling it twice is harmless).
 */
export class ConnectionLimiter {
	readonly max: number;
	readonly #counts = new Map<string, number>();

	constructor(max: number) {
		if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, got ${max}`);
		this.max = max;
	}

	/** Streams open now, from every address (readiness reports it: which node holds whom). */
	get total(): number {
		let total = 0;
		for (const count of this.#counts.values()) total += count;
		return total;
	}

	/** Streams open from `address` now. */
	count(address: string): number {
		return this.#counts.get(address) ?? 0;
	}

	/** Counts one more stream from `address`, or throws `too_many_connections`. */
	acquire(address: string): () => void {
		const count = this.count(address);
		if (count >= this.max) {
			throw new RunwatchError(
				'too_many_connections',
				`At most ${this.max} live connections per client address (RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS); close some tabs or programs`,
				{ retryAfterSeconds: 5 }
			);
		}
		this.#counts.set(address, count + 1);
		let released = false;
		return () => {
			if (released) return;
			released = true;
			const left = this.count(address) - 1;
			if (left > 0) this.#counts.set(address, left);
			else this.#counts.delete(address);
		};
	}
}
