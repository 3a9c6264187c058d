import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { normaliseError, RunwatchError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { ingestEvents } from './api.js';
import { readJsonStream } from './body.js';

const EVENTS_PATH = /^\/api\/executions\/([^/?#]+)\/events$/;

/**
 * `POST /api/executions/:id/events` straight from Node's HTTP server, before SvelteKit.
 *
 * Ingest is the hot path: an agent streaming output posts an event every few milliseconds, and
 * SvelteKit's per-request work (routing, hooks, building a Request and a Response) cost more
 * than storing and fanning out the event. Everything that matters — the token check, the body
 * limits, validation, the commit and the fan-out — is the same code the SvelteKit route runs
 * (`ingestEvents`, `readJsonStream`); only the way the request arrives differs. `vite dev` has
 * no fast path and uses the route.
 *
 * Returns false, touching nothing, for any other request.
 */
export function tryFastIngest(runtime: Runtime, request: IncomingMessage, response: ServerResponse): boolean {
	if (request.method !== 'POST') return false;
	const url = request.url ?? '';
	const query = url.indexOf('?');
	const match = EVENTS_PATH.exec(query < 0 ? url : url.slice(0, query));
	if (!match) return false;
	void answer(runtime, request, response, match[1]!);
	return true;
}

async function answer(runtime: Runtime, request: IncomingMessage, response: ServerResponse, encodedId: string) {
	let status = 200;
	let payload: unknown;
	try {
		let id: string;
		try {
			id = decodeURIComponent(encodedId);
		} catch {
			throw new RunwatchError('bad_request', 'execution id: malformed percent-encoding in the path');
		}
		payload = await ingestEvents(runtime, { authorization: request.headers.authorization }, id, () =>
			readJsonStream({
				contentType: request.headers['content-type'],
				contentLength: request.headers['content-length'],
				body: Readable.toWeb(request) as ReadableStream<Uint8Array>
			})
		);
	} catch (error) {
		const e = normaliseError(error);
		status = e.status;
		payload = { error: { code: e.code, message: e.message } };
	}
	const text = JSON.stringify(payload);
	if (response.headersSent || response.destroyed) return;
	response.writeHead(status, {
		'content-type': 'application/json',
		'content-length': Buffer.byteLength(text),
		'cache-control': 'no-store'
	});
	response.end(text);
}
