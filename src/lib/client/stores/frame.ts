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
