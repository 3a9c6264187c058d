import { json } from '@sveltejs/kit';
import {
	cancelQuerySchema,
	createShareSchema,
	eventsQuerySchema,
	listQuerySchema,
	searchQuerySchema,
	usageQuerySchema,
	type CancelState,
	type UsageReport,
	type Share
} from '../../protocol/api.js';
import { CANCEL_REQUEST_EVENT_ID } from '../../protocol/events.js';
import { cancelRequestSchema, createExecutionSchema, TERMINAL_STATUSES, type Execution } from '../../protocol/executions.js';
import { EXECUTION_TAIL_EVENTS, MAX_AGENT_NAMES, MAX_OPEN_EXECUTIONS } from '../../protocol/limits.js';
import { invalid, RunwatchError } from '../errors.js';
import { parseExecutionId as parseId } from '../ingest/ingest.js';
import type { Runtime } from '../runtime.js';
import { credentialsOf } from '../access/credentials.js';
import { accessDenied, requireView as requireViewOf, requireWrite } from '../access/request-access.js';
import { isShareActive } from '../access/shares.js';
import type { ShareRecord } from '../store/store.js';
import { readJsonBody } from './body.js';

/**
 * The JSON API, one function per endpoint. Routes are thin: they call these with the runtime
 * from `event.locals`; every failure becomes `{ error: { code, message } }` in the route helper.
 */

export function requireIngest(runtime: Runtime, request: Request): void {
	runtime.ingest.authorize(credentialsOf(request));
}

/** Who may view what: decided by `access/`, the same for every transport. */
export function requireView(runtime: Runtime, request: Request, executionId?: string) {
	return requireViewOf(runtime.access, request, executionId);
}

export function executionUrl(runtime: Runtime, url: URL, id: string): string {
	const base = runtime.config.origin ?? url.origin;
	return `${base}/executions/${encodeURIComponent(id)}`;
}

export async function createExecution(runtime: Runtime, request: Request, url: URL): Promise<Response> {
	requireIngest(runtime, request);
	const result = createExecutionSchema.safeParse(await readJsonBody(request));
	if (!result.success) throw invalid('invalid_body', result.error);
	const { execution, created } = await runtime.ingest.createExecution(result.data);
	return json({ ...execution, url: executionUrl(runtime, url, execution.id) }, { status: created ? 201 : 200 });
}

export async function listExecutions(runtime: Runtime, request: Request, url: URL): Promise<Response> {
	await requireView(runtime, request);
	const result = listQuerySchema.safeParse(Object.fromEntries(url.searchParams));
	if (!result.success) throw invalid('invalid_query', result.error);
	return json(await runtime.store.listExecutions(result.data));
}

export async function getExecution(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	const id = parseId(rawId);
	await requireView(runtime, request, id);
	const execution = await runtime.store.getExecution(id);
	if (!execution) throw new RunwatchError('not_found', `No execution "${id}"`);
	const events = await runtime.store.readTail(id, EXECUTION_TAIL_EVENTS);
	return json({ execution, events });
}

export async function readEvents(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	const id = parseId(rawId);
	await requireView(runtime, request, id);
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

/** `GET /api/executions/:id/search?q=`: events holding every word of `q`, over everything stored. */
export async function searchEvents(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	const id = parseId(rawId);
	await requireView(runtime, request, id);
	const query = searchQuerySchema.safeParse(Object.fromEntries(url.searchParams));
	if (!query.success) throw invalid('invalid_query', query.error);
	if (!(await runtime.store.getExecution(id))) throw new RunwatchError('not_found', `No execution "${id}"`);
	const { q, before, limit } = query.data;
	// One more than asked says whether there are more.
	const found = await runtime.store.searchEvents(id, q, { limit: limit + 1, before });
	const more = found.length > limit;
	return json({ events: more ? found.slice(1) : found, more });
}

/** `GET /api/agents`: the names the list's agent filter offers. */
export async function listAgents(runtime: Runtime, request: Request): Promise<Response> {
	await requireView(runtime, request);
	return json({ agents: await runtime.store.listAgentNames(MAX_AGENT_NAMES) });
}

/** Midnight UTC of the day `now` is in. */
export function startOfUtcDay(now: Date): string {
	return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())).toISOString();
}

/** Per-agent totals since a moment, and the executions among them still open (for live updates). */
export async function readUsage(runtime: Runtime, since: string): Promise<UsageReport> {
	// Open ones first, `at` last: whatever is created after `at` is new to a viewer and added;
	// whatever was created before it and is not in `open` is counted in `agents` already and
	// must never be added twice (one created between the two reads only keeps its first share).
	const open = await runtime.store.listOpenSince(since, MAX_OPEN_EXECUTIONS);
	const agents = await runtime.store.usageSince(since);
	return { since, at: new Date().toISOString(), agents, open };
}

/** `GET /api/usage?since=`: per agent, runs, failures, tokens and cost of executions created since then. */
export async function getUsage(runtime: Runtime, request: Request, url: URL): Promise<Response> {
	await requireView(runtime, request);
	const query = usageQuerySchema.safeParse(Object.fromEntries(url.searchParams));
	if (!query.success) throw invalid('invalid_query', query.error);
	const since = query.data.since ? new Date(query.data.since).toISOString() : startOfUtcDay(new Date());
	return json(await readUsage(runtime, since));
}

export async function postEvents(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	return json(
		await runtime.ingest.postEvents({
			credentials: credentialsOf(request),
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
	const id = parseId(rawId);
	await requireWrite(runtime.access, request, runtime.config.origin, 'delete an execution');
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
	const id = parseId(rawId);
	await requireWrite(runtime.access, request, runtime.config.origin, 'cancel an execution');
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
	const id = parseId(rawId);
	await requireView(runtime, request, id);
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

/** `POST /api/executions/:id/shares`: a new share link; its token is in `url`, shown this once. */
export async function createShare(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	const id = parseId(rawId);
	await requireWrite(runtime.access, request, runtime.config.origin, 'share an execution');
	const body = request.headers.get('content-length') === '0' || !request.body ? {} : await readJsonBody(request);
	const parsed = createShareSchema.safeParse(body ?? {});
	if (!parsed.success) throw invalid('invalid_body', parsed.error);
	if (!(await runtime.store.getExecution(id))) throw new RunwatchError('not_found', `No execution "${id}"`);
	const { share, token } = await runtime.access.shares.create(id, parsed.data.expiresInSeconds);
	const base = runtime.config.origin ?? url.origin;
	return json({ ...shareView(share), url: `${base}/s/${token}` }, { status: 201 });
}

/** `GET /api/executions/:id/shares`: this execution's links, newest first (never their tokens). */
export async function listShares(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	const id = parseId(rawId);
	const principal = await requireView(runtime, request, id);
	// Reading is enough on an open server; a share link never sees the others.
	if (principal.kind === 'shares') throw accessDenied(principal, 'list share links');
	if (!(await runtime.store.getExecution(id))) throw new RunwatchError('not_found', `No execution "${id}"`);
	return json({ shares: (await runtime.access.shares.list(id)).map(shareView) });
}

/** `DELETE /api/executions/:id/shares/:shareId`: revoked at once, live viewers included. */
export async function revokeShare(runtime: Runtime, request: Request, rawId: string, shareId: string): Promise<Response> {
	const id = parseId(rawId);
	await requireWrite(runtime.access, request, runtime.config.origin, 'revoke a share link');
	if (!(await runtime.access.shares.revoke(id, shareId))) {
		throw new RunwatchError('not_found', `No share "${shareId}" for execution "${id}"`);
	}
	// Through the bus: its viewers may be on any node.
	runtime.news.shareRevoked(shareId);
	return new Response(null, { status: 204 });
}

function shareView(share: ShareRecord): Share {
	const view: Share = { id: share.id, executionId: share.executionId, createdAt: share.createdAt, active: isShareActive(share) };
	if (share.expiresAt) view.expiresAt = share.expiresAt;
	if (share.revokedAt) view.revokedAt = share.revokedAt;
	return view;
}
