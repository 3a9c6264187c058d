import { TERMINAL_STATUSES, type ExecutionStatus } from './executions.js';

/**
 * How long an execution may go without an event before it shows as stalled, unless
 * RUNWATCH_STALL_SECONDS says otherwise. Ten minutes: longer than a slow LLM call or tool run
 * that sends nothing meanwhile, short enough that a crashed agent does not tick "running" all day.
 */
export const DEFAULT_STALL_SECONDS = 600;

/** What the derivation reads from an execution (its summary, as the list and the page hold it). */
export interface StallInput {
	status: ExecutionStatus;
	createdAt: string;
	/** When its last event was stored (or, in a page following it live, that event's time when later). */
	updatedAt: string;
}

/**
 * How long `execution` has gone without an event, when that makes it stalled: not ended, and
 * quiet for at least `stallMs` by the clock `now`. Undefined otherwise. Stalled is derived, never
 * stored: it is a statement about the agent's silence, which the next event ends.
 */
export function stalledForMs(execution: StallInput, now: number, stallMs: number): number | undefined {
	if (TERMINAL_STATUSES.has(execution.status) || !(stallMs > 0)) return undefined;
	const last = Math.max(Date.parse(execution.createdAt) || 0, Date.parse(execution.updatedAt) || 0);
	if (!last) return undefined;
	const quiet = now - last;
	return quiet >= stallMs ? quiet : undefined;
}
