import type { StoredEvent } from '../../protocol/events.js';
import type { Execution } from '../../protocol/executions.js';
import { applyEvents } from './execution-state.js';
import { extendStepRows, stepRows, type StepRows } from './step-rows.js';

/*
 * The execution page's data, folded from events. Pure: the server render and the browser compute
 * the same thing, and the store only decides when to fold.
 */

/** What a step-start said about its step; step-end and children refer to it by `stepId`. */
export interface StepInfo {
	name: string;
	kind: string;
}

/** A step's place in time, for the waterfall. */
export interface StepSpan {
	id: string;
	name: string;
	kind: string;
	/** The enclosing step (from `parentStepId`), when there is one. */
	parentId?: string;
	/** Absent while the step-start is older than the events held. */
	startSeq?: number;
	startTs?: string;
	endSeq?: number;
	endTs?: string;
	/** The step-end carried `data.error`. */
	failed: boolean;
}

export interface ExecutionView {
	/** Summary fields (status, usage, …) kept current by the shared reducer. */
	execution: Execution;
	/** Every event held, ascending by seq, without gaps past the first. */
	events: StoredEvent[];
	/** The timeline's rows: one per event, a step's end folded into its start's row. */
	rows: StepRows;
	/** The `text` of every held `output` event, concatenated. */
	output: string;
	/** Steps by `stepId`. */
	steps: ReadonlyMap<string, StepInfo>;
	/** Steps by `stepId`, with their start and end. */
	spans: ReadonlyMap<string, StepSpan>;
	/** How many held events there are of each type. */
	typeCounts: ReadonlyMap<string, number>;
	/** `data.input` of the first held `agent-start` (the execution's input). */
	agentInput?: HeldValue;
	/** `data.output` of the last held `agent-complete` (its final output). */
	agentOutput?: HeldValue;
	/** Set when the server refused to follow the execution (e.g. it was deleted). */
	error: { code: string; message: string } | null;
	/** Newest seq the server has reported (at subscribe time); ahead of `execution.lastSeq` while catching up. */
	serverLastSeq: number;
	/** Events the server has that this view does not yet hold. */
	behind: number;
	/** Older events exist on the server that this view does not hold (it starts past seq 1). */
	hasOlder: boolean;
}

/** A value one event carried, and that event's seq (to link to it). */
export interface HeldValue {
	seq: number;
	value: unknown;
}

export interface ExecutionStoreInput {
	execution: Execution;
	/** The events rendered on the server, ascending. */
	events: StoredEvent[];
}

function record(value: unknown): Record<string, unknown> {
	return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

interface Folded {
	output: string;
	steps: ReadonlyMap<string, StepInfo>;
	spans: ReadonlyMap<string, StepSpan>;
	typeCounts: ReadonlyMap<string, number>;
	agentInput?: HeldValue;
	agentOutput?: HeldValue;
}

/**
 * Folds `events` into output, steps, spans and type counts. Maps are copied once per call that
 * changes them, so a renderer can compare them by identity.
 */
function fold(base: Folded, events: readonly StoredEvent[]): Folded {
	let output = base.output;
	let steps = base.steps as Map<string, StepInfo>;
	let spans = base.spans as Map<string, StepSpan>;
	let typeCounts = base.typeCounts as Map<string, number>;
	let { agentInput, agentOutput } = base;
	if (events.length > 0) typeCounts = new Map(typeCounts);
	for (const event of events) {
		typeCounts.set(event.type, (typeCounts.get(event.type) ?? 0) + 1);
		const data = record(event.data);
		if (event.type === 'output' && typeof data.text === 'string') {
			output += data.text;
			continue;
		}
		if (event.type === 'agent-start' && !agentInput && data.input !== undefined) agentInput = { seq: event.seq, value: data.input };
		if (event.type === 'agent-complete' && data.output !== undefined) agentOutput = { seq: event.seq, value: data.output };
		if (!event.stepId || (event.type !== 'step-start' && event.type !== 'step-end')) continue;
		if (spans === base.spans) spans = new Map(spans);
		const known = spans.get(event.stepId);
		if (event.type === 'step-start') {
			const name = typeof data.name === 'string' ? data.name : event.stepId;
			const kind = typeof data.kind === 'string' ? data.kind : 'custom';
			if (typeof data.name === 'string') {
				if (steps === base.steps) steps = new Map(steps);
				steps.set(event.stepId, { name, kind });
			}
			spans.set(event.stepId, {
				...known,
				id: event.stepId,
				name,
				kind,
				parentId: event.parentStepId,
				startSeq: event.seq,
				startTs: event.ts,
				failed: known?.failed ?? false
			});
		} else {
			spans.set(event.stepId, {
				id: event.stepId,
				name: known?.name ?? event.stepId,
				kind: known?.kind ?? 'custom',
				...known,
				endSeq: event.seq,
				endTs: event.ts,
				failed: data.error !== undefined && data.error !== null
			});
		}
	}
	return { output, steps, spans, typeCounts, agentInput, agentOutput };
}

function hasOlder(execution: Execution, events: readonly StoredEvent[]): boolean {
	const first = events[0];
	return first ? first.seq > 1 : execution.lastSeq > 0;
}

/** The view after live `events` (ascending, newer than what it holds). */
export function extendView(view: ExecutionView, events: readonly StoredEvent[]): ExecutionView {
	const folded = fold(view, events);
	const execution = applyEvents(view.execution, events);
	const held = view.events.concat(events);
	return {
		...view,
		...folded,
		execution,
		events: held,
		rows: extendStepRows(view.rows, events),
		behind: Math.max(0, view.serverLastSeq - Math.max(execution.lastSeq, events.at(-1)?.seq ?? 0)),
		hasOlder: hasOlder(execution, held)
	};
}

/**
 * The view with `older` events (ascending, from scrolling back) put in front. They are already
 * counted in the summary, so the reducer does not see them again; output, steps and spans are
 * folded again from the start, in seq order, so a step that began in the older part is whole.
 */
export function prependView(view: ExecutionView, older: readonly StoredEvent[]): ExecutionView {
	const firstHeld = view.events[0]?.seq ?? Number.POSITIVE_INFINITY;
	const fresh = older.filter((event) => event.seq < firstHeld);
	if (fresh.length === 0) return view.hasOlder && older.length === 0 ? { ...view, hasOlder: false } : view;
	const events = fresh.concat(view.events);
	const folded = fold(emptyFold(), events);
	return { ...view, ...folded, events, rows: stepRows(events), hasOlder: hasOlder(view.execution, events) };
}

function emptyFold(): Folded {
	return { output: '', steps: new Map(), spans: new Map(), typeCounts: new Map() };
}

/** The view as the server rendered it. Pure: SSR and hydration compute the same thing. */
export function initialExecutionView(input: ExecutionStoreInput): ExecutionView {
	const empty: ExecutionView = {
		execution: input.execution,
		events: [],
		rows: stepRows([]),
		...emptyFold(),
		error: null,
		serverLastSeq: input.execution.lastSeq,
		behind: 0,
		hasOlder: false
	};
	// The tail is read just after the execution row, so it may hold a few newer events the
	// summary has not seen; the reducer folds those in and skips the ones it has.
	return extendView(empty, input.events);
}

/** How deep a step sits under its ancestors (0 at the top). Cycles and unknown parents end the walk. */
export function stepDepth(spans: ReadonlyMap<string, StepSpan>, stepId: string): number {
	let depth = 0;
	const seen = new Set<string>([stepId]);
	let parent = spans.get(stepId)?.parentId;
	while (parent && !seen.has(parent) && spans.has(parent)) {
		seen.add(parent);
		depth++;
		parent = spans.get(parent)?.parentId;
	}
	return depth;
}

/**
 * An event's indentation in the timeline: a step's own start and end sit at the step's depth;
 * anything inside a step one level deeper.
 */
export function eventDepth(spans: ReadonlyMap<string, StepSpan>, event: StoredEvent): number {
	if (event.stepId && spans.has(event.stepId)) {
		const depth = stepDepth(spans, event.stepId);
		return event.type === 'step-start' || event.type === 'step-end' ? depth : depth + 1;
	}
	if (event.parentStepId && spans.has(event.parentStepId)) return stepDepth(spans, event.parentStepId) + 1;
	return 0;
}
