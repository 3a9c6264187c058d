import type { StoredEvent } from './events.js';
import { TERMINAL_STATUSES, type ExecutionStatus, type UsageTotals } from './executions.js';

/**
 * What the event list says about an execution. Status is a pure function of the events: the
 * server applies this reducer inside the write transaction, the browser applies the same code to
 * live events, and both always agree.
 */
export interface ExecutionState {
	status: ExecutionStatus;
	startedAt?: string;
	endedAt?: string;
	lastSeq: number;
	usage: UsageTotals;
	/** The message of the `error` event that failed the execution. */
	error?: string;
	/** The `ts` and reason of the first `cancel-requested` event, while running. */
	cancelRequestedAt?: string;
	cancelReason?: string;
}

export function initialState(): ExecutionState {
	return { status: 'pending', lastSeq: 0, usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 } };
}

const TERMINAL_BY_TYPE: Record<string, ExecutionStatus> = {
	'agent-complete': 'completed',
	error: 'failed',
	cancelled: 'cancelled'
};

function record(value: unknown): Record<string, unknown> {
	return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

function count(value: unknown): number {
	return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

function addUsage(usage: UsageTotals, raw: unknown): UsageTotals {
	const u = record(raw);
	const inputTokens = count(u.inputTokens);
	const outputTokens = count(u.outputTokens);
	const costUsd = count(u.costUsd);
	if (!inputTokens && !outputTokens && !costUsd) return usage;
	return {
		inputTokens: usage.inputTokens + inputTokens,
		outputTokens: usage.outputTokens + outputTokens,
		// Cost is summed in micro-dollars so that 0.1 + 0.2 shows as 0.3.
		costUsd: Math.round((usage.costUsd + costUsd) * 1e6) / 1e6
	};
}

/**
 * Applies one event. Events must come in seq order; one already applied (seq ≤ lastSeq) is
 * ignored, so replays and duplicates are harmless.
 *
 * - The first event of any kind moves `pending` to `running` (an agent may skip `agent-start`).
 * - `cancel-requested` moves a running execution to `cancelling` (the first one counts); it
 *   keeps running until the agent stops.
 * - `agent-complete`, `error` and `cancelled` end the execution; the first of them wins and
 *   later events no longer change the status.
 * - Token usage from `usage` events and from `step-end` `data.usage` is summed: report each
 *   token once.
 */
export function applyEvent(state: ExecutionState, event: StoredEvent): ExecutionState {
	if (event.seq <= state.lastSeq) return state;
	const next: ExecutionState = { ...state, lastSeq: event.seq };
	const data = record(event.data);

	if (event.type === 'usage') next.usage = addUsage(state.usage, data);
	else if (event.type === 'step-end') next.usage = addUsage(state.usage, data.usage);

	if (TERMINAL_STATUSES.has(state.status)) return next;

	if (state.status === 'pending') {
		next.status = 'running';
		next.startedAt = event.ts;
	}
	if (event.type === 'cancel-requested' && next.status !== 'cancelling') {
		next.status = 'cancelling';
		next.cancelRequestedAt = event.ts;
		if (typeof data.reason === 'string' && data.reason) next.cancelReason = data.reason;
	}
	const terminal = TERMINAL_BY_TYPE[event.type];
	if (terminal) {
		next.status = terminal;
		next.endedAt = event.ts;
		if (terminal === 'failed') next.error = typeof data.message === 'string' ? data.message : 'failed';
	}
	return next;
}

/** The state after a whole list of events, in seq order. */
export function reduceEvents(events: readonly StoredEvent[], from = initialState()): ExecutionState {
	let state = from;
	for (const event of events) state = applyEvent(state, event);
	return state;
}
