import { idSchema } from '../../protocol/events.js';
import { invalid, RunwatchError } from '../errors.js';
import { requireView } from '../http/api.js';
import type { Runtime } from '../runtime.js';
import { SSE_HEADERS, SseStream } from './sse-stream.js';

const SEQ = /^\d{1,16}$/;

/** `Last-Event-ID` wins over `?since=`: EventSource reconnects to the same URL with the header. */
function resumePoint(request: Request, url: URL): number {
	const header = request.headers.get('last-event-id')?.trim();
	if (header && SEQ.test(header) && Number.isSafeInteger(Number(header))) return Number(header);
	const since = url.searchParams.get('since');
	if (since === null) return 0;
	if (!SEQ.test(since) || !Number.isSafeInteger(Number(since))) {
		throw new RunwatchError('invalid_query', 'since must be a non-negative safe integer');
	}
	return Number(since);
}

/**
 * `GET /api/executions/:id/stream`: one execution as Server-Sent Events, every event with
 * `id: <seq>`, from the resume point on; then live. Works with `curl -N` and EventSource.
 */
export async function streamExecution(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	requireView(runtime, request, url);
	const parsed = idSchema.safeParse(rawId);
	if (!parsed.success) throw invalid('bad_request', parsed.error, 'execution id: ');
	const id = parsed.data;
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
			runtime.hub.unsubscribe(subscription);
			runtime.sseStreams.delete(stream);
		}
	});
	runtime.sseStreams.add(stream);
	const subscription = runtime.hub.subscribe(stream, id, Math.min(since, execution.lastSeq));
	return new Response(stream.body, { headers: SSE_HEADERS });
}
