/** Runs `callback` once, soon; returns the function that cancels it. */
export type FrameScheduler = (callback: () => void) => () => void;

/**
 * Fallback cadence where there are no animation frames (tests, a worker): about one 60 Hz frame,
 * so a burst still costs one update.
 */
const FALLBACK_FRAME_MS = 16;

/**
 * The next animation frame in a browser, a short timeout elsewhere. A hidden tab gets no frames:
 * events then queue up and are applied in one go when it is shown again, which is the point.
 */
export const nextFrame: FrameScheduler = (callback) => {
	if (typeof requestAnimationFrame === 'function' && typeof cancelAnimationFrame === 'function') {
		const handle = requestAnimationFrame(() => callback());
		return () => cancelAnimationFrame(handle);
	}
	const handle = setTimeout(callback, FALLBACK_FRAME_MS);
	return () => clearTimeout(handle);
};

/**
 * Collects items and hands them over in one batch per frame. `flush()` delivers what is queued
 * at once (a store being stopped); `cancel()` drops the scheduled frame but keeps the queue.
 */
export function createBatcher<T>(deliver: (items: T[]) => void, schedule: FrameScheduler = nextFrame) {
	let queue: T[] = [];
	let cancelFrame: (() => void) | undefined;

	function flush(): void {
		cancelFrame?.();
		cancelFrame = undefined;
		if (queue.length === 0) return;
		const items = queue;
		queue = [];
		deliver(items);
	}

	return {
		push(items: readonly T[]): void {
			// A loop, not push(...items): spreading a very large batch overflows the call stack.
			for (const item of items) queue.push(item);
			cancelFrame ??= schedule(flush);
		},
		flush,
		cancel(): void {
			cancelFrame?.();
			cancelFrame = undefined;
		}
	};
}

/**
 * While events stream in, the execution page applies them at most this often: every update
 * re-renders the rows on screen (a follow-the-tail list shows new rows each time) and lays the
 * page out, so at 1,000 events/s updating on every animation frame kept the main thread busy
 * end to end, and each frame's work queued behind the last one's into long tasks. Ten updates a
 * second still reads as live; an event after a quiet spell is applied on the next frame.
 */
export const LIVE_UPDATE_INTERVAL_MS = 100;

/**
 * `schedule`, but never running callbacks closer together than `minIntervalMs`: a call within
 * that time of the last run waits out the rest first (then still waits for a frame). `now` is
 * for tests.
 */
export function pacedScheduler(
	minIntervalMs: number,
	schedule: FrameScheduler = nextFrame,
	now: () => number = () => (typeof performance === 'undefined' ? Date.now() : performance.now())
): FrameScheduler {
	let lastRunAt = Number.NEGATIVE_INFINITY;
	return (callback) => {
		let cancelled = false;
		let cancelInner: (() => void) | undefined;
		const run = () => {
			if (cancelled) return;
			lastRunAt = now();
			callback();
		};
		const wait = lastRunAt + minIntervalMs - now();
		if (wait <= 0) {
			cancelInner = schedule(run);
		} else {
			const timer = setTimeout(() => {
				if (!cancelled) cancelInner = schedule(run);
			}, wait);
			cancelInner = () => clearTimeout(timer);
		}
		return () => {
			cancelled = true;
			cancelInner?.();
		};
	};
}
