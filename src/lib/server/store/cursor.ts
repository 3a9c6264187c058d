import { RunwatchError } from '../errors.js';

/** List cursors are opaque to clients: base64url of `createdAt|id` of the last row seen. */
export function encodeCursor(createdAt: string, id: string): string {
	return Buffer.from(`${createdAt}|${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } {
	const text = Buffer.from(cursor, 'base64url').toString();
	const bar = text.indexOf('|');
	if (bar < 1 || bar === text.length - 1) {
		throw new RunwatchError('invalid_query', 'cursor is not one this server gave out; start again without it');
	}
	return { createdAt: text.slice(0, bar), id: text.slice(bar + 1) };
}
