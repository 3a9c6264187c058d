import type { StoredEvent } from '../../protocol/events.js';

/*
 * The timeline's rows: one per event, except that a step is one row. A step-end whose step-start
 * is held is shown by that start's row (its bar, state, duration and detail); a step-end whose
 * start is older than the events held keeps a row of its own, so nothing is ever invisible, and
 * folds into its step's row once the older page with the start arrives (the view then folds the
 * rows again from the first held event).
 *
 * Built in one forward pass: extending by a live batch costs the batch plus one array copy, with
 * no work per row already held.
 */

export interface StepRows {
	/** The events that get a row, ascending by seq. */
	rows: StoredEvent[];
	/** A step-end shown by its step's row: end seq → start seq. */
	folded: ReadonlyMap<number, number>;
	/** The step-end a step row shows: start seq → end event. */
	ends: ReadonlyMap<number, StoredEvent>;
	/** Steps started among the held events and not ended yet: step id → start seq. */
	open: ReadonlyMap<string, number>;
}

export function emptyStepRows(): StepRows {
	return { rows: [], folded: new Map(), ends: new Map(), open: new Map() };
}

/**
 * The rows after `events` (ascending, newer than any held). A step-end folds into the latest
 * unended step-start of its step before it; a second end of one step keeps its own row. Maps are
 * copied only when the batch changes them, so an older view stays as it was.
 */
export function extendStepRows(base: StepRows, events: readonly StoredEvent[]): StepRows {
	if (events.length === 0) return base;
	let folded = base.folded as Map<number, number>;
	let ends = base.ends as Map<number, StoredEvent>;
	let open = base.open as Map<string, number>;
	const added: StoredEvent[] = [];
	for (const event of events) {
		if (event.stepId !== undefined && event.type === 'step-start') {
			if (open === base.open) open = new Map(open);
			open.set(event.stepId, event.seq);
		} else if (event.stepId !== undefined && event.type === 'step-end') {
			const start = open.get(event.stepId);
			if (start !== undefined) {
				if (open === base.open) open = new Map(open);
				if (folded === base.folded) folded = new Map(folded);
				if (ends === base.ends) ends = new Map(ends);
				open.delete(event.stepId);
				folded.set(event.seq, start);
				ends.set(start, event);
				continue;
			}
		}
		added.push(event);
	}
	return { rows: added.length > 0 ? base.rows.concat(added) : base.rows, folded, ends, open };
}

/** The rows of `events` (ascending), from scratch: for the first render and after a scroll-back. */
export function stepRows(events: readonly StoredEvent[]): StepRows {
	return extendStepRows(emptyStepRows(), events);
}

/** The seq of the row that shows event `seq`: its step's row for a folded step-end, else its own. */
export function rowSeq(model: Pick<StepRows, 'folded'>, seq: number): number {
	return model.folded.get(seq) ?? seq;
}
