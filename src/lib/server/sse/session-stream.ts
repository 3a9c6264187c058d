import { MAX_BODY_BYTES } from '../../protocol/limits.js';
import { RunwatchError } from '../errors.js';
import { forbiddenMessage } from '../access/access.js';
import { accessDenied, principalOf } from '../access/request-access.js';
import { readJsonBody } from '../http/body.js';
import type { Runtime } from '../runtime.js';
import { ViewerSession } from '../session/viewer-session.js';
import { SSE_HEADERS, SseStream, type SseStreamOptions } from './sse-stream.js';
import type { OpenSse, SseRequest } from './execution-stream.js';
import { credentialsOf } from '../access/credentials.js';

/** Client messages in one POST: a tab re-subscribing after a reconnect sends them all at once. */
export const MAX_MESSAGES_PER_POST = 256;

/**
 * `GET /api/sse`: the dashboard's SSE transport. One stream carries every execution the tab
 * follows (browsers allow six HTTP/1.1 connections per host across all tabs); the first message
 * names the session, and the client sends subscribe/unsubscribe/ping to
 * `POST /api/sse/<sessionId>`. Server messages are the WebSocket ones, one per SSE message.
 * Checks, then opens the stream with `open`; `'head'` for a HEAD request.
 */
export async function openSession(runtime: Runtime, request: Pick<SseRequest, 'method' | 'credentials' | 'clientAddress'>, open: OpenSse): Promise<SseStream | 'head'> {
	const { access } = runtime;
	// Anyone who may view something opens it (a share link's holder follows its one execution
	// here too); each subscribe is then checked.
	const principal = await access.resolve(request.credentials);
	if (principal.kind === 'anonymous') throw accessDenied(principal, 'view executions');
	runtime.assertAcceptingViewers();
	if (request.method === 'HEAD') return 'head';
	const release = runtime.connections.acquire(request.clientAddress);
	const sessionId = runtime.sseRelay.newSessionId();
	// Opened only once the connection counts; a stream that could not open (the client left) does not.
	let stream: SseStream;
	const options: SseStreamOptions = {
		format: 'messages',
		onClose: () => {
			release();
			untrack();
			session.close();
			runtime.sseSessions.delete(sessionId);
			runtime.sseStreams.delete(stream);
		}
	};
	try {
		stream = open(options);
	} catch (error) {
		release();
		throw error;
	}
	const session = new ViewerSession(stream, {
		hub: runtime.hub,
		store: runtime.store,
		mayView: (executionId) => access.mayView(principal, executionId)
	});
	const untrack = access.track(principal, (reason) =>
		stream.close({ type: 'error', code: 'forbidden', message: forbiddenMessage(reason) })
	);
	runtime.sseStreams.add(stream);
	runtime.sseSessions.set(sessionId, session);
	stream.sendMessage({ type: 'session', sessionId });
	return stream;
}

/** The SvelteKit route's way: the session stream as a web `Response`. */
export async function openSessionStream(runtime: Runtime, request: Request, clientAddress: string): Promise<Response> {
	// HEAD (SvelteKit runs GET for it): headers only; a stream body would hang the request.
	const stream = await openSession(runtime, { method: request.method, credentials: credentialsOf(request), clientAddress }, (options) => new SseStream(options));
	return new Response(stream === 'head' ? null : stream.body, { headers: SSE_HEADERS });
}

/** `POST /api/sse/:sessionId`: one client message, or an array of them. Replies arrive on the stream. */
export async function postSessionMessages(runtime: Runtime, request: Request, sessionId: string): Promise<Response> {
	// What the session may view was decided when its stream opened, and each subscribe is checked
	// against that; the POST itself must still come from someone who may view something.
	const principal = await principalOf(runtime.access, request);
	if (principal.kind === 'anonymous') throw accessDenied(principal, 'view executions');
	const body = await readJsonBody(request, MAX_BODY_BYTES);
	const messages = Array.isArray(body) ? body : [body];
	if (messages.length > MAX_MESSAGES_PER_POST) {
		throw new RunwatchError('invalid_body', `At most ${MAX_MESSAGES_PER_POST} messages per request`);
	}
	// Here, or forwarded to the node holding the stream (no sticky sessions behind a balancer).
	if (!(await runtime.sseRelay.deliver(sessionId, messages))) {
		throw new RunwatchError('not_found', 'No such SSE session (the stream ended); open a new stream');
	}
	return new Response(null, { status: 202 });
}

