import type { StoredEvent } from '../../protocol/events.js';
import type { Execution, ExecutionStatus } from '../../protocol/executions.js';
import type { ExecutionState } from '../../protocol/reducer.js';
import type { PreparedEvent, ShareRecord } from './store.js';

/** Rows as both stores keep them (same columns, same text), and their conversion to the protocol's shapes. */

export interface ExecutionRow {
	id: string;
	agent: string;
	department: string | null;
	metadata: string;
	created_at: string;
	updated_at: string;
	status: ExecutionStatus;
	started_at: string | null;
	ended_at: string | null;
	last_seq: number;
	input_tokens: number;
	output_tokens: number;
	cost_usd: number;
	error: string | null;
	cancel_requested_at: string | null;
	cancel_reason: string | null;
}

export function toExecution(row: ExecutionRow): Execution {
	const execution: Execution = {
		id: row.id,
		agent: JSON.parse(row.agent),
		metadata: JSON.parse(row.metadata),
		createdAt: row.created_at,
		updatedAt: row.updated_at,
		status: row.status,
		lastSeq: row.last_seq,
		usage: { inputTokens: row.input_tokens, outputTokens: row.output_tokens, costUsd: row.cost_usd }
	};
	if (row.department) execution.department = JSON.parse(row.department);
	if (row.started_at) execution.startedAt = row.started_at;
	if (row.ended_at) execution.endedAt = row.ended_at;
	if (row.error) execution.error = row.error;
	if (row.cancel_requested_at) execution.cancelRequestedAt = row.cancel_requested_at;
	if (row.cancel_reason) execution.cancelReason = row.cancel_reason;
	return execution;
}

/** The row with the summary in `state`, as the append is about to write it (stored, and returned without reading it back). */
export function rowWithState(row: ExecutionRow, state: ExecutionState): ExecutionRow {
	return {
		...row,
		status: state.status,
		started_at: state.startedAt ?? null,
		ended_at: state.endedAt ?? null,
		last_seq: state.lastSeq,
		input_tokens: state.usage.inputTokens,
		output_tokens: state.usage.outputTokens,
		cost_usd: state.usage.costUsd,
		error: state.error ?? null,
		cancel_requested_at: state.cancelRequestedAt ?? null,
		cancel_reason: state.cancelReason ?? null,
		updated_at: new Date().toISOString()
	};
}

export function toState(row: ExecutionRow): ExecutionState {
	const state: ExecutionState = {
		status: row.status,
		lastSeq: row.last_seq,
		usage: { inputTokens: row.input_tokens, outputTokens: row.output_tokens, costUsd: row.cost_usd }
	};
	if (row.started_at) state.startedAt = row.started_at;
	if (row.ended_at) state.endedAt = row.ended_at;
	if (row.error) state.error = row.error;
	if (row.cancel_requested_at) state.cancelRequestedAt = row.cancel_requested_at;
	if (row.cancel_reason) state.cancelReason = row.cancel_reason;
	return state;
}

export interface ShareRow {
	id: string;
	execution_id: string;
	token_hash: string;
	created_at: string;
	expires_at: string | null;
	revoked_at: string | null;
}

export function toShare(row: ShareRow): ShareRecord {
	const share: ShareRecord = { id: row.id, executionId: row.execution_id, createdAt: row.created_at };
	if (row.expires_at) share.expiresAt = row.expires_at;
	if (row.revoked_at) share.revokedAt = row.revoked_at;
	return share;
}

/** Builds the stored form with a fixed key order, so the JSON text is the same every time. */
export function toStoredEvent(event: PreparedEvent, seq: number): StoredEvent {
	const stored: StoredEvent = { seq, id: event.id, type: event.type, ts: event.ts };
	if (event.stepId !== undefined) stored.stepId = event.stepId;
	if (event.parentStepId !== undefined) stored.parentStepId = event.parentStepId;
	if (event.data !== undefined) stored.data = event.data;
	return stored;
}

/**
 * The stored JSON text of an event: from the caller's JSON of the event when it has one (same
 * fields, same order, `seq` first), else serialised here. Both stores keep exactly this text.
 */
export function storedJson(event: PreparedEvent, stored: StoredEvent): string {
	return event.json !== undefined ? `{"seq":${stored.seq},${event.json.slice(1)}` : JSON.stringify(stored);
}
