import { MAX_BODY_BYTES } from '../../protocol/limits.js';
import { RunwatchError } from '../errors.js';
import { forbiddenMessage } from '../access/access.js';
import { accessDenied, principalOf } from '../access/request-access.js';
import { readJsonBody } from '../http/body.js';
import type { Runtime } from '../runtime.js';
import { ViewerSession } from '../session/viewer-session.js';
import { SSE_HEADERS, SseStream } from './sse-stream.js';

/** Client messages in one POST: a tab re-subscribing after a reconnect sends them all at once. */
export const MAX_MESSAGES_PER_POST = 256;

/**
 * `GET /api/sse`: the dashboard's SSE transport. One stream carries every execution the tab
 * follows (browsers allow six HTTP/1.1 connections per host across all tabs); the first message
 * names the session, and the client sends subscribe/unsubscribe/ping to
 * `POST /api/sse/<sessionId>`. Server messages are the WebSocket ones, one per SSE message.
 */
export async function openSessionStream(runtime: Runtime, request: Request, clientAddress: string): Promise<Response> {
	const { access } = runtime;
	// Anyone who may view something opens it (a share link's holder follows its one execution
	// here too); each subscribe is then checked.
	const principal = await principalOf(access, request);
	if (principal.kind === 'anonymous') throw accessDenied(principal, 'view executions');
	runtime.assertAcceptingViewers();
	// HEAD (SvelteKit runs GET for it): headers only; a stream body would hang the request.
	if (request.method === 'HEAD') return new Response(null, { headers: SSE_HEADERS });
	const release = runtime.connections.acquire(clientAddress);
	const sessionId = runtime.sseRelay.newSessionId();
	const stream = new SseStream({
		format: 'messages',
		onClose: () => {
			release();
			untrack();
			session.close();
			runtime.sseSessions.delete(sessionId);
			runtime.sseStreams.delete(stream);
		}
	});
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
	return new Response(stream.body, { headers: SSE_HEADERS });
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

