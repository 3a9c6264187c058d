import { readable, type Readable } from 'svelte/store';

/** Durations show whole tenths of a second at most; a faster tick would only cost frames. */
const TICK_MS = 1000;

/**
 * The current time, ticking once a second while something shows it. During SSR it stays at the
 * time of the render: ticking durations start moving once the page is live.
 */
export const clock: Readable<number> = readable(Date.now(), (set) => {
	set(Date.now());
	const timer = setInterval(() => set(Date.now()), TICK_MS);
	return () => clearInterval(timer);
});
