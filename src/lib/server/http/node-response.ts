import type { ServerResponse } from 'node:http';
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

/** A JSON answer on a Node response, unless the client has gone or an answer has begun. */
export function sendJson(response: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
	if (response.headersSent || response.destroyed) return;
	const text = JSON.stringify(payload);
	response.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
	response.end(text);
}
