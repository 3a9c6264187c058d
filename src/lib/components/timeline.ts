import type { StoredEvent } from '$lib/protocol/events';
import type { StepSpan } from '$lib/client/stores/execution-store';
import type { StepRows } from '$lib/client/stores/step-rows';

/*
 * What the timeline shows for each event, kept out of the components so it can be tested and
 * so each row does only cheap work (only rows on screen are rendered).
 */

export type Tone = 'bad' | 'warn' | 'ok' | '';

function record(value: unknown): Record<string, unknown> {
	return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

/** How a row is coloured: errors (and failed steps) stand out; warnings less so. */
export function eventTone(event: StoredEvent, span?: StepSpan): Tone {
	const data = record(event.data);
	if (event.type === 'error') return 'bad';
	if (event.type === 'log') return data.level === 'error' ? 'bad' : data.level === 'warn' ? 'warn' : '';
	if (event.type === 'step-end' && data.error !== undefined && data.error !== null) return 'bad';
	if (event.type === 'step-start' && span?.failed) return 'bad';
	if (event.type === 'agent-complete') return 'ok';
	if (event.type === 'cancelled' || event.type === 'cancel-requested') return 'warn';
	return '';
}

export interface SpanBar {
	/** Fractions of the waterfall's width. */
	left: number;
	width: number;
	/** Milliseconds the step took, or has run so far. */
	ms: number;
	state: 'done' | 'failed' | 'running' | 'unfinished';
}

/**
 * A step's bar on the waterfall, whose scale runs from `startMs` to `scaleEndMs`. A step with no
 * end runs until `atMs` (now, or the execution's end): it is running while the execution runs,
 * and "unfinished" once it has ended. Its duration is measured to `atMs`, never to the scale's
 * end, which a running execution rounds up ahead of time.
 */
export function spanBar(
	span: StepSpan,
	startMs: number | undefined,
	scaleEndMs: number,
	atMs: number,
	executionEnded: boolean
): SpanBar | undefined {
	if (!span.startTs || startMs === undefined) return undefined;
	const from = Date.parse(span.startTs);
	const to = span.endTs ? Date.parse(span.endTs) : Math.max(atMs, from);
	const total = Math.max(1, scaleEndMs - startMs);
	const left = Math.min(1, Math.max(0, (from - startMs) / total));
	const width = Math.min(1 - left, Math.max(0, (to - from) / total));
	const state = span.endTs ? (span.failed ? 'failed' : 'done') : executionEnded ? 'unfinished' : 'running';
	return { left, width, ms: Math.max(0, to - from), state };
}

/** The one start and end the header's duration, the timeline's offsets and its bars measure with. */
export interface TimeBasis {
	/** The execution's start (its first event); undefined before it has one. */
	startMs: number | undefined;
	/** Its end once ended; while it runs, now, or its newest event when that is later (a clock ahead of this viewer's). */
	atMs: number;
}

function parseTs(ts: string | undefined): number | undefined {
	const ms = ts ? Date.parse(ts) : Number.NaN;
	return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Where an execution's time runs from and to. Running, it is never behind the newest event shown:
 * a timeline at +0.5 s beside a header at "0 ms" (the viewer's clock behind the agent's, or not
 * ticked yet) would be two answers to one question.
 */
export function timeBasis(
	execution: { startedAt?: string; endedAt?: string },
	events: readonly StoredEvent[],
	now: number
): TimeBasis {
	const startMs = parseTs(execution.startedAt ?? events[0]?.ts);
	const endedMs = parseTs(execution.endedAt);
	if (endedMs !== undefined) return { startMs, atMs: endedMs };
	const lastMs = parseTs(events.at(-1)?.ts) ?? Number.NEGATIVE_INFINITY;
	return { startMs, atMs: Math.max(now, lastMs) };
}

/** How long the execution has run, on the same basis as the timeline; undefined before it starts. */
export function basisElapsedMs(basis: TimeBasis): number | undefined {
	return basis.startMs === undefined ? undefined : Math.max(0, basis.atMs - basis.startMs);
}

/**
 * The end of a running execution's waterfall: `at` rounded up to half a power of ten of the
 * elapsed time (5 s steps at 12 s, 50 s steps at 3 min), at least one second.
 */
export function waterfallEnd(startMs: number | undefined, at: number): number {
	if (startMs === undefined || at <= startMs) return at;
	const elapsed = at - startMs;
	const step = Math.max(1000, 10 ** Math.floor(Math.log10(elapsed)) / 2);
	return startMs + Math.ceil(elapsed / step) * step;
}

const searchable = new WeakMap<StoredEvent, string>();

/** Lower-case text a search looks through: type, step id and the event's data as JSON. Cached per event. */
export function searchText(event: StoredEvent): string {
	let text = searchable.get(event);
	if (text === undefined) {
		let data = '';
		try {
			data = event.data === undefined ? '' : JSON.stringify(event.data);
		} catch {
			// not serialisable: searched by type and step only
		}
		text = `${event.type} ${event.stepId ?? ''} ${event.parentStepId ?? ''} ${data}`.toLowerCase();
		searchable.set(event, text);
	}
	return text;
}

export interface TimelineFilter {
	/** Event types to show; empty shows every type. */
	types: readonly string[];
	/** Text to look for (any case); empty matches everything. */
	query: string;
}

/** The events to show. Without a filter, the same array (no copy per frame while streaming). */
export function filterEvents(events: StoredEvent[], filter: TimelineFilter): StoredEvent[] {
	return filterRows({ rows: events, ends: new Map() }, filter);
}

/**
 * The rows to show (see step-rows.ts). A step's row matches when its start or its end does: a
 * search for a step's error, or the type "step-end", finds the step's row. Without a filter, the
 * same array.
 */
export function filterRows(model: Pick<StepRows, 'rows' | 'ends'>, filter: TimelineFilter): StoredEvent[] {
	const query = filter.query.trim().toLowerCase();
	if (filter.types.length === 0 && !query) return model.rows;
	const types = new Set(filter.types);
	const typeOk = (event: StoredEvent | undefined) => event !== undefined && (types.size === 0 || types.has(event.type));
	const queryOk = (event: StoredEvent | undefined) => event !== undefined && (!query || searchText(event).includes(query));
	return model.rows.filter((row) => {
		// The type may be the end's and the text the start's (filter "step-end", search a step's name).
		const end = model.ends.get(row.seq);
		return (typeOk(row) || typeOk(end)) && (queryOk(row) || queryOk(end));
	});
}

/** The error event that failed the execution, searched from the newest. */
export function failingError(events: readonly StoredEvent[]): StoredEvent | undefined {
	for (let i = events.length - 1; i >= 0; i--) if (events[i]!.type === 'error') return events[i];
	return undefined;
}
