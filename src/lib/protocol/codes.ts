/**
 * Stable error codes. They appear in `{ error: { code, message } }` bodies and in WebSocket
 * `error` frames; programs match on them, so they never change meaning.
 */
export const ERROR_CODES = {
	bad_request: 400,
	invalid_body: 400,
	invalid_query: 400,
	invalid_event: 400,
	unauthorized: 401,
	forbidden: 403,
	not_found: 404,
	method_not_allowed: 405,
	conflict: 409,
	payload_too_large: 413,
	unsupported_media_type: 415,
	too_many_subscriptions: 429,
	/** An ingest token sent more events than its rate allows; `Retry-After` says when to retry. */
	rate_limited: 429,
	/** Too many WebSocket and SSE streams open from one client address. */
	too_many_connections: 429,
	shutting_down: 503,
	/** A service the server depends on (the PostgreSQL database) cannot be reached; `Retry-After` says when to retry. */
	unavailable: 503,
	internal: 500
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** HTTP status for an error code. */
export function statusForCode(code: ErrorCode): number {
	return ERROR_CODES[code];
}

/**
 * WebSocket close codes the server uses. 1000–1015 are the standard ones (RFC 6455); 4000+ are
 * ours. The client's reconnect policy (`client/transport/close-policy.ts`) reads these.
 */
export const CLOSE_CODES = {
	/** Normal close, e.g. the page unsubscribed from everything and went away. */
	normal: 1000,
	/** Server shutting down or restarting: reconnect at once, to this node or another. */
	goingAway: 1001,
	/** A frame that is not valid JSON text, or binary. */
	unsupportedData: 1003,
	/** A frame larger than WS_MAX_PAYLOAD_BYTES. */
	messageTooBig: 1009,
	/** Server error: reconnect with backoff. */
	internalError: 1011,
	/** Not allowed to view: do not reconnect until the person signs in. */
	forbidden: 4403
} as const;
