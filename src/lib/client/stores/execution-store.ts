import { readable, type Readable } from 'svelte/store';
import { browser } from '$app/environment';
import type { StoredEvent } from '../../protocol/events.js';
import type { Execution } from '../../protocol/executions.js';
import type { Connection } from '../connection.js';
import { sharedConnection } from './connection-store.js';
import { applyEvents } from './execution-state.js';
import { createBatcher, nextFrame, type FrameScheduler } from './frame.js';

/** What a step-start said about its step; step-end and children refer to it by `stepId`. */
export interface StepInfo {
	name: string;
	kind: string;
}

export interface ExecutionView {
	/** Summary fields (status, usage, …) kept current by the shared reducer. */
	execution: Execution;
	/** Every event held, ascending by seq, without gaps past the first. */
	events: StoredEvent[];
	/** The `text` of every `output` event, concatenated. */
	output: string;
	/** Steps by `stepId`. */
	steps: ReadonlyMap<string, StepInfo>;
	/** Set when the server refused to follow the execution (e.g. it was deleted). */
	error: { code: string; message: string } | null;
	/** Newest seq the server has reported (at subscribe time); ahead of `execution.lastSeq` while catching up. */
	serverLastSeq: number;
	/** Events the server has that this view does not yet hold. */
	behind: number;
}

export interface ExecutionStoreInput {
	execution: Execution;
	/** The events rendered on the server, ascending. */
	events: StoredEvent[];
}

export interface ExecutionStoreOptions {
	/** Default: the page's shared connection in the browser, none during SSR. */
	connection?: Connection;
	/** Default: one batch per animation frame. */
	schedule?: FrameScheduler;
}

function record(value: unknown): Record<string, unknown> {
	return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

/** Folds events into a view: summary through the reducer, plus output and steps. */
function extend(view: ExecutionView, events: readonly StoredEvent[]): ExecutionView {
	let output = view.output;
	let steps = view.steps;
	for (const event of events) {
		const data = record(event.data);
		if (event.type === 'output' && typeof data.text === 'string') output += data.text;
		else if (event.type === 'step-start' && event.stepId && typeof data.name === 'string') {
			// Copied once per batch that has a step in it, so the map can be compared by identity.
			if (steps === view.steps) steps = new Map(steps);
			(steps as Map<string, StepInfo>).set(event.stepId, { name: data.name, kind: typeof data.kind === 'string' ? data.kind : 'custom' });
		}
	}
	return {
		execution: applyEvents(view.execution, events),
		events: view.events.concat(events),
		output,
		steps,
		error: view.error,
		serverLastSeq: view.serverLastSeq,
		behind: Math.max(0, view.serverLastSeq - lastSeqOf(view, events))
	};
}

function lastSeqOf(view: ExecutionView, events: readonly StoredEvent[]): number {
	return Math.max(view.execution.lastSeq, events.at(-1)?.seq ?? 0);
}

/** The view as the server rendered it. Pure: SSR and hydration compute the same thing. */
export function initialExecutionView(input: ExecutionStoreInput): ExecutionView {
	const empty: ExecutionView = {
		execution: input.execution,
		events: [],
		output: '',
		steps: new Map(),
		error: null,
		serverLastSeq: input.execution.lastSeq,
		behind: 0
	};
	const view = extend(empty, input.events);
	// The tail is read just after the execution row, so it may hold a few newer events the
	// summary has not seen; `extend` folded those in (the reducer skips the ones it has).
	return view;
}

/**
 * One execution, live. Starts from the server-rendered state and follows the execution from
 * exactly its last seq, so nothing is shown twice and nothing is missed. Incoming events are
 * applied once per animation frame: a burst of a thousand events is one store update.
 */
export function executionStore(input: ExecutionStoreInput, options: ExecutionStoreOptions = {}): Readable<ExecutionView> {
	let view = initialExecutionView(input);
	const id = input.execution.id;

	return readable(view, (set) => {
		const connection = options.connection ?? (browser ? sharedConnection() : undefined);
		if (!connection) return; // SSR: render what we have
		const batcher = createBatcher<StoredEvent>((events) => {
			view = extend(view, events);
			set(view);
		}, options.schedule ?? nextFrame);

		// A restarted store resumes from what it holds, not from the server render.
		set(view);
		const unsubscribe = connection.subscribe(id, view.execution.lastSeq, {
			onEvents: (events) => batcher.push(events),
			// The server's seq at subscribe time says how far behind a catch-up starts.
			onSubscribed: (lastSeq) => {
				if (lastSeq <= view.serverLastSeq) return;
				batcher.flush();
				view = { ...view, serverLastSeq: lastSeq, behind: Math.max(0, lastSeq - view.execution.lastSeq) };
				set(view);
			},
			onError: (error) => {
				batcher.flush();
				view = { ...view, error };
				set(view);
			}
		});
		return () => {
			unsubscribe();
			batcher.cancel();
			// Keep what arrived so a restart continues from it.
			batcher.flush();
		};
	});
}
