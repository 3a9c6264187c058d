import { seqTextSchema } from '../../protocol/api.js';
import { idSchema } from '../../protocol/events.js';
import { invalid, RunwatchError } from '../errors.js';
import { forbiddenMessage } from '../access/access.js';
import { accessDenied } from '../access/request-access.js';
import { credentialsOf, type RequestCredentials } from '../access/credentials.js';
import type { Runtime } from '../runtime.js';
import { SSE_HEADERS, SseStream, type SseStreamOptions } from './sse-stream.js';

/** An SSE request as both ways in see it (the SvelteKit route, and the Node path of `node-stream.ts`). */
export interface SseRequest {
	method: string;
	credentials: RequestCredentials;
	clientAddress: string;
	lastEventId: string | null | undefined;
	/** `?since=`, or null. */
	since: string | null;
}

/** Makes the stream on the transport at hand: a web body, or the Node response. */
export type OpenSse = (options: SseStreamOptions) => SseStream;

/**
 * `Last-Event-ID` wins over `?since=`: EventSource reconnects to the same URL with the header.
 * A header that is not a seq is ignored (it came from somewhere else); a bad `since` is a 400.
 */
function resumePoint(request: SseRequest): number {
	const header = seqTextSchema.safeParse(request.lastEventId?.trim());
	if (header.success) return header.data;
	if (request.since === null) return 0;
	const parsed = seqTextSchema.safeParse(request.since);
	if (!parsed.success) throw invalid('invalid_query', parsed.error);
	return parsed.data;
}

/**
 * `GET /api/executions/:id/stream`: one execution as Server-Sent Events, every event with
 * `id: <seq>`, from the resume point on; then live. Works with `curl -N` and EventSource.
 * Checks everything, then opens the stream with `open`; `'head'` for a HEAD request (headers
 * only: a stream body would never end, so `curl -I` would hang). Throws the API's errors.
 */
export async function openExecutionStream(runtime: Runtime, request: SseRequest, rawId: string, open: OpenSse): Promise<SseStream | 'head'> {
	const parsed = idSchema.safeParse(rawId);
	if (!parsed.success) throw invalid('bad_request', parsed.error, 'execution id: ');
	const id = parsed.data;
	const principal = await runtime.access.resolve(request.credentials);
	if (!runtime.access.mayView(principal, id)) throw accessDenied(principal, 'view this execution');
	const since = resumePoint(request);
	const execution = await runtime.store.getExecution(id);
	if (!execution) throw new RunwatchError('not_found', `No execution "${id}"`);
	runtime.assertAcceptingViewers();
	if (request.method === 'HEAD') return 'head';
	const release = runtime.connections.acquire(request.clientAddress);
	// Opened only once the connection counts; a stream that could not open (the client left) does not.
	let stream: SseStream;
	const options: SseStreamOptions = {
		format: 'events',
		onClose: () => {
			release();
			untrack();
			runtime.hub.unsubscribe(subscription);
			runtime.sseStreams.delete(stream);
		}
	};
	try {
		stream = open(options);
	} catch (error) {
		release();
		throw error;
	}
	const untrack = runtime.access.track(principal, (reason) =>
		stream.close({ type: 'error', code: 'forbidden', message: forbiddenMessage(reason), executionId: id })
	);
	runtime.sseStreams.add(stream);
	// Deleted while followed: one last message (no `id:`, so a resuming EventSource keeps its
	// place) says so, then the stream ends.
	const subscription = runtime.hub.subscribe(stream, id, Math.min(since, execution.lastSeq), (notice) => {
		stream.sendMessage(notice);
		stream.close();
	});
	return stream;
}

/** The SvelteKit route's way: the stream as a web `Response`. */
export async function streamExecution(
	runtime: Runtime,
	request: Request,
	url: URL,
	rawId: string,
	clientAddress: string
): Promise<Response> {
	const sse: SseRequest = {
		method: request.method,
		credentials: credentialsOf(request),
		clientAddress,
		lastEventId: request.headers.get('last-event-id'),
		since: url.searchParams.get('since')
	};
	const stream = await openExecutionStream(runtime, sse, rawId, (options) => new SseStream(options));
	return new Response(stream === 'head' ? null : stream.body, { headers: SSE_HEADERS });
}
