import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorPayload } from '../errors.js';
import { credentialsOfNode } from '../access/credentials.js';
import type { Runtime } from '../runtime.js';
import { openExecutionStream } from './execution-stream.js';
import { openSession } from './session-stream.js';
import { decodePathSegment, sendJson } from '../http/node-response.js';
import { SSE_HEADERS, SseStream, type SseStreamOptions } from './sse-stream.js';

const EXECUTION_STREAM_PATH = /^\/api\/executions\/([^/?#]+)\/stream$/;
const SESSION_STREAM_PATH = '/api/sse';

/**
 * `GET /api/executions/:id/stream` and `GET /api/sse` straight from Node's HTTP server, before
 * SvelteKit, writing to the Node response (HEAD too).
 *
 * An idle SSE viewer is memory, and through SvelteKit it held a web `ReadableStream` with its
 * controller and queue, the `Request`/`Response` pair and adapter-node's pump between the stream
 * and the socket: twice what a plain Node SSE loop holds (`npm run bench -- --scenario memory`).
 * The checks, the hub subscription and the messages are the code the SvelteKit routes run
 * (`openExecutionStream`, `openSession`, `SseStream`); only the way the bytes leave differs.
 * `vite dev` has no Node path and uses the routes; so does the production server with
 * `RUNWATCH_INGEST_FAST_PATH=off`, which the tests use to drive the routes too.
 *
 * Returns false, touching nothing, for any other request.
 */
export function tryNodeSse(runtime: Runtime, request: IncomingMessage, response: ServerResponse): boolean {
	if (request.method !== 'GET' && request.method !== 'HEAD') return false;
	const url = request.url ?? '';
	const query = url.indexOf('?');
	const path = query < 0 ? url : url.slice(0, query);
	const common = {
		method: request.method,
		credentials: credentialsOfNode(request),
		clientAddress: runtime.clientAddress(request)
	};
	// The client may leave while we check (a slow store): then no stream is opened for nobody.
	const open = (options: SseStreamOptions) => {
		if (response.destroyed) throw new ClientGone();
		return new SseStream({ ...options, response });
	};
	if (path === SESSION_STREAM_PATH) {
		void answer(response, () => openSession(runtime, common, open));
		return true;
	}
	const match = EXECUTION_STREAM_PATH.exec(path);
	if (!match) return false;
	const since = query < 0 ? null : new URLSearchParams(url.slice(query + 1)).get('since');
	const lastEventId = request.headers['last-event-id'] as string | undefined;
	void answer(response, () =>
		openExecutionStream(runtime, { ...common, lastEventId, since }, decodePathSegment(match[1]!), open)
	);
	return true;
}

/** The client went away before its stream opened: nothing to answer, nothing to hold. */
class ClientGone extends Error {}

async function answer(response: ServerResponse, opening: () => Promise<SseStream | 'head'>): Promise<void> {
	try {
		const result = await opening();
		if (result === 'head') {
			response.writeHead(200, SSE_HEADERS);
			response.end();
		}
	} catch (error) {
		if (error instanceof ClientGone || response.headersSent || response.destroyed) return;
		const { status, body, headers } = errorPayload(error);
		sendJson(response, status, body, headers);
	}
}
