import { z } from 'zod';
import { idSchema, storedEventSchema } from './events.js';
import { executionSchema } from './executions.js';

const seqSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Client → server WebSocket frames. */
export const clientMessageSchema = z.discriminatedUnion('type', [
	z.strictObject({ type: z.literal('subscribe'), executionId: idSchema, since: seqSchema.optional() }),
	z.strictObject({ type: z.literal('unsubscribe'), executionId: idSchema }),
	z.strictObject({ type: z.literal('ping') }),
	/** Follow the execution list: every new execution and every summary change. */
	z.strictObject({ type: z.literal('subscribe-executions') }),
	z.strictObject({ type: z.literal('unsubscribe-executions') })
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

/** Server → client WebSocket frames (and the payloads the SSE transport maps onto them). */
export const serverMessageSchema = z.discriminatedUnion('type', [
	z.object({ type: z.literal('subscribed'), executionId: idSchema, lastSeq: seqSchema }),
	z.object({ type: z.literal('event'), executionId: idSchema, event: storedEventSchema }),
	z.object({
		type: z.literal('events'),
		executionId: idSchema,
		events: z.array(storedEventSchema)
	}),
	z.object({ type: z.literal('pong') }),
	/** Acknowledges `subscribe-executions`; after a reconnect, refetch the list page shown. */
	z.object({ type: z.literal('executions-subscribed') }),
	/** An execution was created or its summary changed (coalesced per tick). */
	z.object({ type: z.literal('execution'), execution: executionSchema }),
	/** An execution was deleted (by a person or by retention): drop it from the list. */
	z.object({ type: z.literal('execution-deleted'), executionId: idSchema }),
	/** First message of the dashboard's SSE stream: where to POST client messages for it. */
	z.object({ type: z.literal('session'), sessionId: z.string() }),
	z.object({
		type: z.literal('error'),
		code: z.string(),
		message: z.string(),
		executionId: idSchema.optional()
	})
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** `{ error: { code, message } }`: every /api error body. */
export const errorBodySchema = z.object({
	error: z.object({ code: z.string(), message: z.string() })
});
export type ErrorBody = z.infer<typeof errorBodySchema>;
