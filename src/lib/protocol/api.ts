import { z } from 'zod';
import { eventInputSchema, idSchema, storedEventSchema, timestampSchema } from './events.js';
import { executionSchema, executionStatusSchema } from './executions.js';
import {
	DEFAULT_EVENTS_PAGE,
	DEFAULT_LIST_LIMIT,
	MAX_BATCH_EVENTS,
	MAX_CANCEL_WAIT_SECONDS,
	MAX_EVENTS_PAGE,
	MAX_LIST_LIMIT,
	DEFAULT_SEARCH_PAGE,
	MAX_AGENT_NAMES,
	MAX_NAME_LENGTH,
	MAX_SEARCH_PAGE,
	MAX_SHARE_SECONDS,
	MIN_SHARE_SECONDS
} from './limits.js';

/** Body of `POST /api/executions/:id/events`: one event, or `{ events: [...] }`. */
export const eventBatchSchema = z.strictObject({
	events: z
		.array(eventInputSchema)
		.min(1, 'must hold at least one event')
		.max(MAX_BATCH_EVENTS, `must hold at most ${MAX_BATCH_EVENTS} events`)
});

/** A query-string integer: digits only, a safe integer, within bounds. */
function queryInt(name: string, max: number) {
	return z
		.string()
		.regex(/^\d+$/, `${name} must be a non-negative integer`)
		.transform(Number)
		.refine(Number.isSafeInteger, `${name} must be a safe integer`)
		.refine((n) => n <= max, `${name} must be at most ${max}`);
}

/** A sequence number given as text (a query value, or SSE's `Last-Event-ID`). */
export const seqTextSchema = queryInt('since', Number.MAX_SAFE_INTEGER);

/**
 * `?since=SEQ` pages forward (events after SEQ, oldest first); `?before=SEQ` pages back (the
 * newest `limit` events before SEQ, still returned oldest first). One or the other.
 */
export const eventsQuerySchema = z
	.object({
		since: seqTextSchema.optional(),
		before: queryInt('before', Number.MAX_SAFE_INTEGER).optional(),
		limit: queryInt('limit', MAX_EVENTS_PAGE)
			.refine((n) => n > 0, 'limit must be at least 1')
			.default(DEFAULT_EVENTS_PAGE)
	})
	.refine((q) => q.since === undefined || q.before === undefined, 'give since or before, not both');

/**
 * `GET /api/executions/:id/search?q=&before=&limit=`: the newest `limit` events (with seq <
 * `before`) holding every word of `q`, ascending; page back by passing the first seq as `before`.
 */
export const searchQuerySchema = z.object({
	q: z.string().trim().min(1, 'q must not be empty').max(MAX_NAME_LENGTH),
	before: queryInt('before', Number.MAX_SAFE_INTEGER).optional(),
	limit: queryInt('limit', MAX_SEARCH_PAGE)
		.refine((n) => n > 0, 'limit must be at least 1')
		.default(DEFAULT_SEARCH_PAGE)
});

export const searchResultSchema = z.object({
	events: z.array(storedEventSchema),
	/** More matches exist before the first one returned (ask again with `before`). */
	more: z.boolean()
});
export type SearchResult = z.infer<typeof searchResultSchema>;

/** `GET /api/usage?since=`: per agent, executions created since `since` (default: today, 00:00 UTC). */
export const usageQuerySchema = z.object({
	since: timestampSchema.optional()
});

export const agentTotalsSchema = z.object({
	agent: z.string(),
	runs: z.number().int().nonnegative(),
	failed: z.number().int().nonnegative(),
	inputTokens: z.number(),
	outputTokens: z.number(),
	costUsd: z.number()
});
export type AgentTotals = z.infer<typeof agentTotalsSchema>;

export const usageReportSchema = z.object({
	since: timestampSchema,
	/** When the totals were read: executions created after it are not in them. */
	at: timestampSchema,
	agents: z.array(agentTotalsSchema),
	/**
	 * Executions counted above that had not ended at `at`, as they were then: a live view
	 * replaces their share of the totals with each newer summary of them.
	 */
	open: z.array(executionSchema)
});
export type UsageReport = z.infer<typeof usageReportSchema>;

/** `GET /api/agents`: every agent name with an execution, sorted (at most MAX_AGENT_NAMES). */
export const agentNamesSchema = z.object({ agents: z.array(z.string()) });

export const listQuerySchema = z.object({
	status: executionStatusSchema.optional(),
	agent: z.string().min(1).max(MAX_NAME_LENGTH).optional(),
	department: z.string().min(1).max(MAX_NAME_LENGTH).optional(),
	q: z.string().min(1).max(MAX_NAME_LENGTH).optional(),
	cursor: z.string().max(200).optional(),
	limit: queryInt('limit', MAX_LIST_LIMIT)
		.refine((n) => n > 0, 'limit must be at least 1')
		.default(DEFAULT_LIST_LIMIT)
});
export type ListQuery = z.infer<typeof listQuerySchema>;

/** One event's fate in a POST: its server seq, and whether it had been stored before. */
export const ingestResultSchema = z.object({
	id: z.string(),
	seq: z.number().int().positive(),
	duplicate: z.boolean()
});

export const postEventsResponseSchema = z.object({
	/** How many events this request stored (duplicates of earlier sends are not counted). */
	accepted: z.number().int().nonnegative(),
	lastSeq: z.number().int().nonnegative(),
	results: z.array(ingestResultSchema),
	/**
	 * Present only when a sent type looks like a misspelt core type (`agent-completed`): one
	 * sentence per such type. Those events were stored, as custom events.
	 */
	warnings: z.array(z.string()).optional()
});
export type PostEventsResponse = z.infer<typeof postEventsResponseSchema>;

/** `GET /api/executions/:id/cancel?wait=S`: hold the answer up to S seconds (0 answers at once). */
export const cancelQuerySchema = z.object({
	wait: queryInt('wait', MAX_CANCEL_WAIT_SECONDS).default(0)
});

/** The answer of both cancel endpoints. */
export const cancelStateSchema = z.object({
	/** A cancel was requested (the agent should stop and send `cancelled`). */
	cancelRequested: z.boolean(),
	reason: z.string().optional(),
	status: executionStatusSchema
});
export type CancelState = z.infer<typeof cancelStateSchema>;

/** Body of `POST /api/executions/:id/shares`; without `expiresInSeconds` the link lasts until revoked. */
export const createShareSchema = z.strictObject({
	expiresInSeconds: z
		.number()
		.int('expiresInSeconds must be a whole number of seconds')
		.min(MIN_SHARE_SECONDS, `expiresInSeconds must be at least ${MIN_SHARE_SECONDS}`)
		.max(MAX_SHARE_SECONDS, `expiresInSeconds must be at most ${MAX_SHARE_SECONDS} (a year)`)
		.optional()
});

/** A share link as the API shows it (its token only ever appears in the `url` of the create answer). */
export const shareSchema = z.object({
	id: z.string(),
	executionId: idSchema,
	createdAt: z.string(),
	expiresAt: z.string().optional(),
	revokedAt: z.string().optional(),
	/** Opens the execution now: not revoked, not expired. */
	active: z.boolean(),
	url: z.string().optional()
});
export type Share = z.infer<typeof shareSchema>;

export const eventsPageSchema = z.object({
	events: z.array(storedEventSchema),
	lastSeq: z.number().int().nonnegative()
});
export type EventsPage = z.infer<typeof eventsPageSchema>;

export const executionWithEventsSchema = z.object({
	execution: executionSchema,
	/** The newest events, ascending; older ones through `GET .../events?since=`. */
	events: z.array(storedEventSchema)
});

export const executionListSchema = z.object({
	executions: z.array(executionSchema),
	nextCursor: z.string().nullable()
});
