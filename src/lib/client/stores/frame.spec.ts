import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBatcher, LIVE_UPDATE_INTERVAL_MS, pacedScheduler, type FrameScheduler } from './frame.js';

/** Frames every 16 ms on the fake clock. */
const frames: FrameScheduler = (callback) => {
	const timer = setTimeout(callback, 16);
	return () => clearTimeout(timer);
};

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('pacedScheduler (the execution page applies a stream at most every LIVE_UPDATE_INTERVAL_MS)', () => {
	it('an event after a quiet spell is applied on the next frame', () => {
		const schedule = pacedScheduler(LIVE_UPDATE_INTERVAL_MS, frames, () => Date.now());
		const run = vi.fn();
		schedule(run);
		vi.advanceTimersByTime(16);
		expect(run).toHaveBeenCalledTimes(1);
	});

	it('a stream of events every 10 ms for 2 s: at most one update per interval, none lost', () => {
		const delivered: number[][] = [];
		const batcher = createBatcher<number>((items) => delivered.push(items), pacedScheduler(LIVE_UPDATE_INTERVAL_MS, frames, () => Date.now()));
		const runFor = 2_000;
		for (let t = 0, n = 0; t < runFor; t += 10, n++) {
			batcher.push([n]);
			vi.advanceTimersByTime(10);
		}
		vi.advanceTimersByTime(LIVE_UPDATE_INTERVAL_MS + 16);
		// Unpaced, a frame every 16 ms would have meant about 125 updates.
		expect(delivered.length).toBeLessThanOrEqual(runFor / LIVE_UPDATE_INTERVAL_MS + 1);
		expect(delivered.length).toBeGreaterThanOrEqual(runFor / (LIVE_UPDATE_INTERVAL_MS + 16) - 1);
		expect(delivered.flat()).toEqual(Array.from({ length: runFor / 10 }, (_, i) => i));
	});

	it('cancelling a paced callback, waiting or scheduled, runs nothing', () => {
		const schedule = pacedScheduler(LIVE_UPDATE_INTERVAL_MS, frames, () => Date.now());
		const first = vi.fn();
		schedule(first);
		vi.advanceTimersByTime(16);
		const waiting = vi.fn();
		schedule(waiting)(); // within the interval: cancelled while it waits
		const framed = vi.fn();
		vi.advanceTimersByTime(LIVE_UPDATE_INTERVAL_MS);
		schedule(framed)(); // past the interval: cancelled while it waits for its frame
		vi.advanceTimersByTime(10 * LIVE_UPDATE_INTERVAL_MS);
		expect(first).toHaveBeenCalledTimes(1);
		expect(waiting).not.toHaveBeenCalled();
		expect(framed).not.toHaveBeenCalled();
	});
});
