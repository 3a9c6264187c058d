import { z } from 'zod';
import { idSchema, timestampSchema } from './events.js';
import {
	MAX_CANCEL_REASON_LENGTH,
	MAX_METADATA_ENTRIES,
	MAX_METADATA_KEY_LENGTH,
	MAX_METADATA_VALUE_LENGTH,
	MAX_NAME_LENGTH
} from './limits.js';

/**
 * `cancelling`: a cancel was requested and the agent has not stopped yet (it still runs, and
 * its events still arrive); its `cancelled` (or completion, or error) ends it.
 */
export const EXECUTION_STATUSES = ['pending', 'running', 'cancelling', 'completed', 'failed', 'cancelled'] as const;
export const executionStatusSchema = z.enum(EXECUTION_STATUSES);
export type ExecutionStatus = z.infer<typeof executionStatusSchema>;

export const TERMINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set([
	'completed',
	'failed',
	'cancelled'
]);

const nameSchema = z.string().trim().min(1, 'must not be empty').max(MAX_NAME_LENGTH);

/** `{ name, ...anything }`; a bare string is accepted as shorthand for `{ name }`. */
const namedSchema = z
	.union([nameSchema, z.looseObject({ name: nameSchema })], { error: (issue) => (issue.input === undefined ? 'is required: a name, or an object with a "name"' : 'must be a name, or an object with a "name"') })
	.transform((value) => (typeof value === 'string' ? { name: value } : value));

export const agentSchema = z.looseObject({ name: z.string() });
export type Agent = z.infer<typeof agentSchema>;

export const metadataSchema = z
	.record(
		z.string().min(1).max(MAX_METADATA_KEY_LENGTH),
		z.string().max(MAX_METADATA_VALUE_LENGTH, `values must be strings of at most ${MAX_METADATA_VALUE_LENGTH} characters`)
	)
	.refine((record) => Object.keys(record).length <= MAX_METADATA_ENTRIES, {
		message: `at most ${MAX_METADATA_ENTRIES} entries`
	});

/** Body of `POST /api/executions`. */
export const createExecutionSchema = z.strictObject({
	id: idSchema.optional(),
	agent: namedSchema,
	department: namedSchema.optional(),
	metadata: metadataSchema.optional()
});
export type CreateExecutionInput = z.infer<typeof createExecutionSchema>;

/** Body of `POST /api/executions/:id/cancel` (may be empty). */
export const cancelRequestSchema = z.strictObject({
	reason: z.string().trim().max(MAX_CANCEL_REASON_LENGTH).optional()
});

export const usageTotalsSchema = z.object({
	inputTokens: z.number(),
	outputTokens: z.number(),
	costUsd: z.number()
});
export type UsageTotals = z.infer<typeof usageTotalsSchema>;

/** An execution as the API returns it. Status and the fields after it come from the reducer. */
export const executionSchema = z.object({
	id: idSchema,
	agent: agentSchema,
	department: agentSchema.optional(),
	metadata: z.record(z.string(), z.string()),
	createdAt: timestampSchema,
	updatedAt: timestampSchema,
	status: executionStatusSchema,
	startedAt: timestampSchema.optional(),
	endedAt: timestampSchema.optional(),
	lastSeq: z.number().int().nonnegative(),
	usage: usageTotalsSchema,
	error: z.string().optional(),
	/** When a cancel was requested, and the reason given (from the `cancel-requested` event). */
	cancelRequestedAt: timestampSchema.optional(),
	cancelReason: z.string().optional()
});
export type Execution = z.infer<typeof executionSchema>;
