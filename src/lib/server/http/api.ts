import { json } from '@sveltejs/kit';
import { cancelQuerySchema, eventsQuerySchema, listQuerySchema, type CancelState } from '../../protocol/api.js';
import { CANCEL_REQUEST_EVENT_ID } from '../../protocol/events.js';
import { cancelRequestSchema, createExecutionSchema, TERMINAL_STATUSES, type Execution } from '../../protocol/executions.js';
import { EXECUTION_TAIL_EVENTS } from '../../protocol/limits.js';
import { invalid, RunwatchError } from '../errors.js';
import { parseExecutionId as parseId } from '../ingest/ingest.js';
import type { Runtime } from '../runtime.js';
import { credentialsOf, isSameOriginPage } from './access.js';
import { readJsonBody } from './body.js';

/**
 * The JSON API, one function per endpoint. Routes are thin: they call these with the runtime
 * from `event.locals`; every failure becomes `{ error: { code, message } }` in the route helper.
 */

export function requireIngest(runtime: Runtime, request: Request, url: URL): void {
	runtime.ingest.authorize(credentialsOf(request, url));
}

export function requireView(runtime: Runtime, request: Request, url: URL): void {
	if (!runtime.access.canView(credentialsOf(request, url))) {
		throw new RunwatchError('unauthorized', 'Sign in or use a share link to view executions');
	}
}

/**
 * Changing an execution (cancel, delete) needs `Access.canWrite`. Someone who may not even view
 * is told to sign in (401); someone who may view but not write (a program without a token on
 * an open local server, a page of another site) is refused (403).
 */
export function requireWrite(runtime: Runtime, request: Request, url: URL, what: string): void {
	const credentials = credentialsOf(request, url);
	const fromPage = isSameOriginPage(request.headers.get('origin'), request.headers.get('host'), runtime.config.origin);
	if (runtime.access.canWrite(credentials, fromPage)) return;
	if (!runtime.access.canView(credentials)) {
		throw new RunwatchError('unauthorized', `${what} needs the ingest token or a signed-in viewer`);
	}
	throw new RunwatchError('forbidden', `${what} needs the ingest token, a signed-in viewer, or the dashboard of an open local server`);
}

export function executionUrl(runtime: Runtime, url: URL, id: string): string {
	const base = runtime.config.origin ?? url.origin;
	return `${base}/executions/${encodeURIComponent(id)}`;
}

export async function createExecution(runtime: Runtime, request: Request, url: URL): Promise<Response> {
	requireIngest(runtime, request, url);
	const result = createExecutionSchema.safeParse(await readJsonBody(request));
	if (!result.success) throw invalid('invalid_body', result.error);
	const { execution, created } = await runtime.ingest.createExecution(result.data);
	return json({ ...execution, url: executionUrl(runtime, url, execution.id) }, { status: created ? 201 : 200 });
}

export async function listExecutions(runtime: Runtime, request: Request, url: URL): Promise<Response> {
	requireView(runtime, request, url);
	const result = listQuerySchema.safeParse(Object.fromEntries(url.searchParams));
	if (!result.success) throw invalid('invalid_query', result.error);
	return json(await runtime.store.listExecutions(result.data));
}

export async function getExecution(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	requireView(runtime, request, url);
	const id = parseId(rawId);
	const execution = await runtime.store.getExecution(id);
	if (!execution) throw new RunwatchError('not_found', `No execution "${id}"`);
	const events = await runtime.store.readTail(id, EXECUTION_TAIL_EVENTS);
	return json({ execution, events });
}

export async function readEvents(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	requireView(runtime, request, url);
	const id = parseId(rawId);
	const query = eventsQuerySchema.safeParse(Object.fromEntries(url.searchParams));
	if (!query.success) throw invalid('invalid_query', query.error);
	const execution = await runtime.store.getExecution(id);
	if (!execution) throw new RunwatchError('not_found', `No execution "${id}"`);
	const { since, before, limit } = query.data;
	const events =
		before !== undefined
			? await runtime.store.readBefore(id, before, limit)
			: await runtime.store.readEvents(id, since ?? 0, limit);
	return json({ events, lastSeq: execution.lastSeq });
}

export async function postEvents(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	return json(
		await runtime.ingest.postEvents({
			credentials: credentialsOf(request, url),
			executionId: rawId,
			readBody: () => readJsonBody(request)
		})
	);
}

/**
 * `DELETE /api/executions/:id`: the execution and its events go, in one transaction; its viewers
 * get `not_found` and the list's followers `execution-deleted`. 204, or 404 when unknown.
 */
export async function deleteExecution(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	requireWrite(runtime, request, url, 'Deleting');
	const id = parseId(rawId);
	if (!(await runtime.ingest.deleteExecution(id))) throw new RunwatchError('not_found', `No execution "${id}"`);
	runtime.retention.reclaimSoon();
	return new Response(null, { status: 204 });
}

/**
 * `POST /api/executions/:id/cancel`: stores a `cancel-requested` event (once, however often it
 * is asked) and answers 202; the agent learns it through `GET .../cancel?wait=` and answers with
 * `cancelled` once it has stopped.
 */
export async function requestCancel(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	requireWrite(runtime, request, url, 'Cancelling');
	const id = parseId(rawId);
	const body = request.headers.get('content-length') === '0' || !request.body ? {} : await readJsonBody(request);
	const parsed = cancelRequestSchema.safeParse(body ?? {});
	if (!parsed.success) throw invalid('invalid_body', parsed.error);
	const existing = await runtime.store.getExecution(id);
	if (!existing) throw new RunwatchError('not_found', `No execution "${id}"`);
	if (TERMINAL_STATUSES.has(existing.status)) {
		throw new RunwatchError('conflict', `Execution "${id}" has already ended (${existing.status}); there is nothing to cancel`);
	}
	const data = parsed.data.reason ? { reason: parsed.data.reason } : {};
	const { execution, results } = await runtime.ingest.appendEvents(id, [
		{ id: CANCEL_REQUEST_EVENT_ID, type: 'cancel-requested', data }
	]);
	return json({ ...cancelState(execution), seq: results[0]!.seq }, { status: 202 });
}

function cancelState(execution: Execution): CancelState {
	const state: CancelState = {
		cancelRequested: execution.cancelRequestedAt !== undefined,
		status: execution.status
	};
	if (execution.cancelReason) state.reason = execution.cancelReason;
	return state;
}

/**
 * `GET /api/executions/:id/cancel?wait=S`: has a cancel been requested? With `wait`, a long-poll:
 * held until a request arrives, the execution ends, or S seconds pass, so an agent that sends
 * nothing still learns of a cancel at once with one request in flight.
 */
export async function awaitCancel(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	requireView(runtime, request, url);
	const id = parseId(rawId);
	const query = cancelQuerySchema.safeParse(Object.fromEntries(url.searchParams));
	if (!query.success) throw invalid('invalid_query', query.error);
	const decided = (execution: Execution) =>
		execution.cancelRequestedAt !== undefined || TERMINAL_STATUSES.has(execution.status);

	let stopWatching = () => {};
	// Watch before reading, so that a request committed between the read and the watch is seen.
	const changed = new Promise<Execution | undefined>((resolve) => {
		if (query.data.wait === 0) return resolve(undefined);
		const timer = setTimeout(() => resolve(undefined), query.data.wait * 1000);
		const unwatch = runtime.hub.watchExecution(id, (execution) => {
			if (decided(execution)) resolve(execution);
		});
		const onAbort = () => resolve(undefined);
		request.signal.addEventListener('abort', onAbort, { once: true });
		stopWatching = () => {
			clearTimeout(timer);
			unwatch();
			request.signal.removeEventListener('abort', onAbort);
		};
	});
	try {
		const execution = await runtime.store.getExecution(id);
		if (!execution) throw new RunwatchError('not_found', `No execution "${id}"`);
		if (decided(execution)) return json(cancelState(execution));
		const latest = (await changed) ?? (await runtime.store.getExecution(id));
		// Deleted while the agent waited: as unknown as any other id.
		if (!latest) throw new RunwatchError('not_found', `No execution "${id}"`);
		return json(cancelState(latest));
	} finally {
		stopWatching();
	}
}
