import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorPayload } from '../errors.js';
import type { Ingest } from '../ingest/ingest.js';
import { credentialsOfNode } from '../access/credentials.js';
import { readJsonNode } from './body.js';
import { decodePathSegment, pathOf, sendJson } from './node-response.js';

const EVENTS_PATH = /^\/api\/executions\/([^/?#]+)\/events$/;

/**
 * `POST /api/executions/:id/events` straight from Node's HTTP server, before SvelteKit.
 *
 * Ingest is the hot path: an agent streaming output posts an event every few milliseconds, and
 * SvelteKit's per-request work (routing, hooks, building a Request and a Response) cost more
 * than storing and fanning out the event. Everything that matters (the token check, the body
 * limits, validation, the commit, the fan-out, the error shape) is the code the SvelteKit route
 * runs: `Ingest.postEvents`, the body limits of `body.ts` (read from the Node stream by
 * `readJsonNode`), `errorPayload`. Only the way the request arrives
 * differs. `vite dev` has no fast path and uses the route; so does the production server with
 * `RUNWATCH_INGEST_FAST_PATH=off`, which the tests use to drive the route too.
 *
 * Returns false, touching nothing, for any other request.
 */
export function tryFastIngest(ingest: Ingest, request: IncomingMessage, response: ServerResponse): boolean {
	if (request.method !== 'POST') return false;
	const match = EVENTS_PATH.exec(pathOf(request));
	if (!match) return false;
	void answer(ingest, request, response, match[1]!);
	return true;
}

async function answer(ingest: Ingest, request: IncomingMessage, response: ServerResponse, encodedId: string) {
	let status = 200;
	let payload: unknown;
	let headers: Record<string, string> = {};
	try {
		payload = await ingest.postEvents({
			credentials: credentialsOfNode(request),
			executionId: decodePathSegment(encodedId),
			readBody: () => readJsonNode(request)
		});
	} catch (error) {
		({ status, body: payload, headers } = errorPayload(error));
	}
	sendJson(response, status, payload, { ...headers, 'cache-control': 'no-store' });
}
