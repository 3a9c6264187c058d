import { z } from 'zod';
import { MAX_CANCEL_REASON_LENGTH, MAX_EVENT_COST_USD, MAX_ID_LENGTH, MAX_NAME_LENGTH } from './limits.js';

/** Execution ids, event ids and step ids: URL-safe, 1–64 characters. */
export const ID_PATTERN = /^[A-Za-z0-9_-]+$/;

export const idSchema = z
	.string()
	.min(1, 'must not be empty')
	.max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
	.regex(ID_PATTERN, 'may contain only letters, digits, "_" and "-"');

/** An ISO-8601 timestamp with a time zone (`Z` or an offset). */
export const timestampSchema = z.iso.datetime({ offset: true });

/**
 * Event types: the core ones below, or any other name an agent wants to send. Unknown types are
 * stored and shown, never rejected for being unknown.
 */
export const eventTypeSchema = z
	.string()
	.min(1, 'must not be empty')
	.max(MAX_NAME_LENGTH)
	.regex(/^[A-Za-z0-9_.:/-]+$/, 'may contain only letters, digits and "_ . : / -"');

export const STEP_KINDS = ['llm', 'tool', 'agent', 'custom'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

const tokenCount = z.number().int().nonnegative();

export const usageSchema = z.looseObject({
	inputTokens: tokenCount.optional(),
	outputTokens: tokenCount.optional(),
	costUsd: z.number().nonnegative().max(MAX_EVENT_COST_USD, `must be at most ${MAX_EVENT_COST_USD}`).optional()
});

/**
 * `data` of the core event types. Extra fields are kept (loose objects): agents attach what
 * they like, and we never drop what they sent.
 */
export const coreEventData = {
	'agent-start': z.looseObject({ input: z.unknown().optional() }),
	output: z.looseObject({ text: z.string(), stream: z.string().max(MAX_NAME_LENGTH).optional() }),
	log: z.looseObject({ level: z.enum(LOG_LEVELS), message: z.string() }),
	'step-start': z.looseObject({
		name: z.string().min(1).max(MAX_NAME_LENGTH),
		kind: z.enum(STEP_KINDS),
		input: z.unknown().optional()
	}),
	'step-end': z.looseObject({
		output: z.unknown().optional(),
		error: z.unknown().optional(),
		usage: usageSchema.optional()
	}),
	usage: usageSchema,
	'agent-complete': z.looseObject({ output: z.unknown().optional() }),
	error: z.looseObject({ message: z.string(), stack: z.string().optional() }),
	/** A viewer (or a program) asked the agent to stop; the agent answers with `cancelled`. */
	'cancel-requested': z.looseObject({ reason: z.string().max(MAX_CANCEL_REASON_LENGTH).optional() }),
	cancelled: z.looseObject({ reason: z.string().optional() })
} as const;

export type CoreEventType = keyof typeof coreEventData;
export const CORE_EVENT_TYPES = Object.keys(coreEventData) as CoreEventType[];

export function isCoreEventType(type: string): type is CoreEventType {
	return Object.hasOwn(coreEventData, type);
}

/** Types whose `data` may be omitted entirely. */
const DATA_OPTIONAL: ReadonlySet<string> = new Set([
	'agent-start',
	'step-end',
	'agent-complete',
	'cancel-requested',
	'cancelled'
]);

/** What an agent sends. `id` (idempotency key) and `ts` are filled in by the server when absent. */
export const eventInputSchema = z
	.strictObject({
		id: idSchema.optional(),
		type: eventTypeSchema,
		ts: timestampSchema.optional(),
		stepId: idSchema.optional(),
		parentStepId: idSchema.optional(),
		data: z.unknown().optional()
	})
	.superRefine((event, ctx) => {
		if (!isCoreEventType(event.type)) return;
		// Checked before the data shortcut below: a `step-end` without data still needs its step.
		if ((event.type === 'step-start' || event.type === 'step-end') && !event.stepId) {
			ctx.addIssue({ code: 'custom', path: ['stepId'], message: `${event.type} needs a stepId` });
		}
		if (event.data === undefined && DATA_OPTIONAL.has(event.type)) return;
		const result = coreEventData[event.type].safeParse(event.data);
		if (!result.success) {
			for (const issue of result.error.issues) {
				ctx.addIssue({ ...issue, path: ['data', ...issue.path] } as never);
			}
		}
	});

export type EventInput = z.infer<typeof eventInputSchema>;

/**
 * The id of the `cancel-requested` event the cancel endpoint stores. Fixed, so that asking
 * twice (two viewers, a double click, a retried request) stores one request.
 */
export const CANCEL_REQUEST_EVENT_ID = 'cancel-requested';

/** An event as stored and delivered: `seq` is 1, 2, 3 … per execution, gapless, in commit order. */
export const storedEventSchema = z.object({
	seq: z.number().int().positive(),
	id: idSchema,
	type: eventTypeSchema,
	ts: timestampSchema,
	stepId: idSchema.optional(),
	parentStepId: idSchema.optional(),
	data: z.unknown().optional()
});

export type StoredEvent = z.infer<typeof storedEventSchema>;
