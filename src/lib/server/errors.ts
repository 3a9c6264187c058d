import { json } from '@sveltejs/kit';
import type { ZodError } from 'zod';
import { statusForCode, type ErrorCode } from '../protocol/codes.js';

/**
 * The one error type of the server. `code` is stable (clients match on it); the HTTP status
 * and the WebSocket `error` frame both come from it, in one place.
 */
export class RunwatchError extends Error {
	readonly code: ErrorCode;
	/** Sent as `Retry-After` (seconds) when set: when a refused request may be tried again. */
	readonly retryAfterSeconds: number | undefined;
	constructor(code: ErrorCode, message: string, options: { retryAfterSeconds?: number } = {}) {
		super(message);
		this.name = 'RunwatchError';
		this.code = code;
		this.retryAfterSeconds = options.retryAfterSeconds;
	}
	get status(): number {
		return statusForCode(this.code);
	}
}

/** Turns a zod failure into one readable sentence: `events.3.data.message: expected string`. */
export function describeZodError(error: ZodError, max = 5): string {
	const parts = error.issues.slice(0, max).map((issue) => {
		const path = issue.path.map(String).join('.');
		// A message that already names its field ("since must be …") is not prefixed twice.
		const named = issue.path.length > 0 && issue.message.startsWith(`${String(issue.path.at(-1))} `);
		return path && !named ? `${path}: ${issue.message}` : issue.message;
	});
	if (error.issues.length > max) parts.push(`and ${error.issues.length - max} more`);
	return parts.join('; ');
}

export function invalid(code: ErrorCode, error: ZodError, prefix = ''): RunwatchError {
	return new RunwatchError(code, prefix + describeZodError(error));
}

/** Normalises anything thrown into a RunwatchError; unknown throws become `internal`. */
export function normaliseError(error: unknown): RunwatchError {
	if (error instanceof RunwatchError) return error;
	console.error('[runwatch] unexpected error:', error);
	return new RunwatchError('internal', 'Internal error; the server log has the details.');
}

/** Seconds a client should wait before retrying a write the server could not take now. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * The status, body and headers of an /api failure, for SvelteKit routes and the Node fast path
 * alike: `{ error: { code, message } }`, and `Retry-After` on a 503 or when the error says when.
 */
export function errorPayload(error: unknown): { status: number; body: { error: { code: ErrorCode; message: string } }; headers: Record<string, string> } {
	const e = normaliseError(error);
	const retryAfter = e.retryAfterSeconds ?? (e.status === 503 ? RETRY_AFTER_SECONDS : undefined);
	const headers: Record<string, string> = retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {};
	return { status: e.status, body: { error: { code: e.code, message: e.message } }, headers };
}

/** The `{ error: { code, message } }` response every /api route returns on failure. */
export function errorResponse(error: unknown, headers?: Record<string, string>): Response {
	const payload = errorPayload(error);
	return json(payload.body, { status: payload.status, headers: { ...payload.headers, ...headers } });
}
