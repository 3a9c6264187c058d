import { seqTextSchema } from '../../protocol/api.js';
import { idSchema } from '../../protocol/events.js';
import { invalid, RunwatchError } from '../errors.js';
import { forbiddenMessage } from '../access/access.js';
import { requireView } from '../access/request-access.js';
import type { Runtime } from '../runtime.js';
import { SSE_HEADERS, SseStream } from './sse-stream.js';

/**
 * `Last-Event-ID` wins over `?since=`: EventSource reconnects to the same URL with the header.
 * A header that is not a seq is ignored (it came from somewhere else); a bad `since` is a 400.
 */
function resumePoint(request: Request, url: URL): number {
	const header = seqTextSchema.safeParse(request.headers.get('last-event-id')?.trim());
	if (header.success) return header.data;
	const since = url.searchParams.get('since');
	if (since === null) return 0;
	const parsed = seqTextSchema.safeParse(since);
	if (!parsed.success) throw invalid('invalid_query', parsed.error);
	return parsed.data;
}

/**
 * `GET /api/executions/:id/stream`: one execution as Server-Sent Events, every event with
 * `id: <seq>`, from the resume point on; then live. Works with `curl -N` and EventSource.
 */
export async function streamExecution(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	const parsed = idSchema.safeParse(rawId);
	if (!parsed.success) throw invalid('bad_request', parsed.error, 'execution id: ');
	const id = parsed.data;
	const principal = await requireView(runtime.access, request, id);
	const since = resumePoint(request, url);
	const execution = await runtime.store.getExecution(id);
	if (!execution) throw new RunwatchError('not_found', `No execution "${id}"`);
	runtime.assertAcceptingViewers();
	// SvelteKit answers HEAD with the GET handler; a stream body would never end (Node sends no
	// body for HEAD and holds even the headers back until the end), so `curl -I` would hang.
	if (request.method === 'HEAD') return new Response(null, { headers: SSE_HEADERS });

	const stream = new SseStream({
		format: 'events',
		onClose: () => {
			untrack();
			runtime.hub.unsubscribe(subscription);
			runtime.sseStreams.delete(stream);
		}
	});
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
	return new Response(stream.body, { headers: SSE_HEADERS });
}
