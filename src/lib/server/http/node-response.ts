import type { IncomingMessage, ServerResponse } from 'node:http';
import { RunwatchError } from '../errors.js';

/*
 * What the Node-level paths (fast ingest, SSE) share with the SvelteKit routes they stand in
 * for: ids decoded from the path as a route gets them, and JSON answers in the same shape.
 */

/** A path segment as SvelteKit would hand it to a route: percent-decoded. */
export function decodePathSegment(segment: string): string {
	try {
		return decodeURIComponent(segment);
	} catch {
		throw new RunwatchError('bad_request', 'execution id: malformed percent-encoding in the path');
	}
}

/** The path of a Node request's URL, without its query string. */
export function pathOf(request: IncomingMessage): string {
	const url = request.url ?? '';
	const query = url.indexOf('?');
	return query < 0 ? url : url.slice(0, query);
}

/** A whole answer on a Node response, unless the client has gone or an answer has begun. */
export function sendBody(response: ServerResponse, status: number, body: string | Uint8Array, headers: Record<string, string>): void {
	if (response.headersSent || response.destroyed) return;
	response.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
	response.end(body);
}

/** A JSON answer on a Node response, unless the client has gone or an answer has begun. */
export function sendJson(response: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
	sendBody(response, status, JSON.stringify(payload), { ...headers, 'content-type': 'application/json' });
}
