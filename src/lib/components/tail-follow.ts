/**
 * Within this many pixels of the bottom counts as "at the latest": sub-pixel layout and a last
 * half-row must not switch following off.
 */
const AT_BOTTOM_PX = 32;

/** A scroll only counts as the person's own when it comes this soon after their input. */
const INTENT_MS = 1000;

/**
 * Keeps a scrolling panel pinned to its newest content until the person scrolls up, and tells
 * the component when that changes (to offer "Jump to latest"). Only scrolls the person causes
 * (wheel, touch, keys, dragging the scrollbar) stop following: a virtualized list that corrects
 * its own scroll position while it measures rows must not.
 */
export class TailFollow {
	#el: HTMLElement | undefined;
	#following = true;
	#intentAt = Number.NEGATIVE_INFINITY; // no wheel, key or touch yet (a page less than a second old included)
	#lastTop = 0; // where the last scroll the handler read left the panel
	readonly #onChange: (following: boolean) => void;

	/** `following`: start pinned to the newest content (a running execution), or not (one that has ended reads from its start). */
	constructor(onChange: (following: boolean) => void, following = true) {
		this.#onChange = onChange;
		this.#following = following;
	}

	get following(): boolean {
		return this.#following;
	}

	/** Starts watching `el`; returns the function that stops. */
	attach(el: HTMLElement): () => void {
		this.#el = el;
		const intent = () => (this.#intentAt = performance.now());
		// Upwards, in a panel that can scroll: the person is leaving the tail. Stop following at
		// once, not at the scroll event: a stick() for rows arriving in between would pull the
		// panel back down before that event and keep it following.
		const leave = () => {
			if (el.scrollHeight > el.clientHeight) this.#set(false);
		};
		const wheel = (event: WheelEvent) => {
			intent();
			if (event.deltaY < 0) leave();
		};
		const keys = (event: KeyboardEvent) => {
			if (['ArrowUp', 'ArrowDown', 'PageUp', 'PageDown', 'Home', 'End', ' '].includes(event.key)) intent();
			if (['ArrowUp', 'PageUp', 'Home'].includes(event.key)) leave();
		};
		const onScroll = () => {
			// Following, and not the person's doing (our own stick, the list measuring its rows):
			// nothing can change, so do not read the layout. Reading it here forced a layout in
			// every frame of a fast stream, right after the list had changed its rows.
			const theirs = performance.now() - this.#intentAt < INTENT_MS;
			if (this.#following && !theirs) return;
			const top = el.scrollTop;
			// Only a scroll that goes down (or stays) resumes following at the bottom: a smooth
			// wheel scroll upwards starts with a frame or two still within AT_BOTTOM_PX, and
			// resuming there would pull the panel back down under the person's hand.
			const upwards = top < this.#lastTop;
			this.#lastTop = top;
			const atBottom = el.scrollHeight - top - el.clientHeight <= AT_BOTTOM_PX;
			if (atBottom && !upwards) this.#set(true);
			else if (theirs && !atBottom) this.#set(false);
		};
		const passive = { passive: true } as const;
		el.addEventListener('wheel', wheel, passive);
		el.addEventListener('touchmove', intent, passive);
		el.addEventListener('pointerdown', intent, passive);
		el.addEventListener('keydown', keys);
		el.addEventListener('scroll', onScroll, passive);
		return () => {
			el.removeEventListener('wheel', wheel);
			el.removeEventListener('touchmove', intent);
			el.removeEventListener('pointerdown', intent);
			el.removeEventListener('keydown', keys);
			el.removeEventListener('scroll', onScroll);
			if (this.#el === el) this.#el = undefined;
		};
	}

	/** After new content: back to the bottom, if following. */
	stick(): void {
		if (this.#following && this.#el) this.#el.scrollTop = this.#lastTop = this.#el.scrollHeight;
	}

	/** "Jump to latest". */
	jump(): void {
		this.#set(true);
		this.stick();
	}

	/** Stop following without a scroll (the person selected an older row with the keyboard). */
	pause(): void {
		this.#set(false);
	}

	#set(following: boolean): void {
		if (following === this.#following) return;
		this.#following = following;
		this.#onChange(following);
	}
}
