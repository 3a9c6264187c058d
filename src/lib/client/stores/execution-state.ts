import type { Execution } from '../../protocol/executions.js';
import { applyEvent, type ExecutionState } from '../../protocol/reducer.js';
import type { StoredEvent } from '../../protocol/events.js';

/** The reducer's part of an execution. */
export function stateOf(execution: Execution): ExecutionState {
	return {
		status: execution.status,
		startedAt: execution.startedAt,
		endedAt: execution.endedAt,
		lastSeq: execution.lastSeq,
		usage: execution.usage,
		error: execution.error,
		cancelRequestedAt: execution.cancelRequestedAt,
		cancelReason: execution.cancelReason
	};
}

/**
 * The execution after `events`, through the shared reducer, so the browser shows exactly what
 * the server would. Returns the same object when nothing changed.
 */
export function applyEvents(execution: Execution, events: readonly StoredEvent[]): Execution {
	let state = stateOf(execution);
	const before = state;
	for (const event of events) state = applyEvent(state, event);
	if (state === before) return execution;
	const last = events[events.length - 1];
	return {
		...execution,
		...state,
		updatedAt: last && Date.parse(last.ts) > Date.parse(execution.updatedAt) ? last.ts : execution.updatedAt
	};
}
