import { json } from '@sveltejs/kit';
import type { ZodError } from 'zod';
import { statusForCode, type ErrorCode } from '../protocol/codes.js';

/**
 * The one error type of the server. `code` is stable (clients match on it); the HTTP status
 * and the WebSocket `error` frame both come from it, in one place.
 */
export class RunwatchError extends Error {
	readonly code: ErrorCode;
	constructor(code: ErrorCode, message: string) {
		super(message);
		this.name = 'RunwatchError';
		this.code = code;
	}
	get status(): number {
		return statusForCode(this.code);
	}
}

/** Turns a zod failure into one readable sentence: `events.3.data.message: expected string`. */
export function describeZodError(error: ZodError, max = 5): string {
	const parts = error.issues.slice(0, max).map((issue) => {
		const path = issue.path.map(String).join('.');
		return path ? `${path}: ${issue.message}` : issue.message;
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

/** The `{ error: { code, message } }` response every /api route returns on failure. */
export function errorResponse(error: unknown, headers?: HeadersInit): Response {
	const e = normaliseError(error);
	return json({ error: { code: e.code, message: e.message } }, { status: e.status, headers });
}
