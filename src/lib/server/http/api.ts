import { json } from '@sveltejs/kit';
import { randomBytes, randomUUID } from 'node:crypto';
import {
	eventBatchSchema,
	eventsQuerySchema,
	listQuerySchema,
	type PostEventsResponse
} from '../../protocol/api.js';
import { eventInputSchema, idSchema, type EventInput } from '../../protocol/events.js';
import { createExecutionSchema } from '../../protocol/executions.js';
import { EXECUTION_TAIL_EVENTS, MAX_EVENT_BYTES } from '../../protocol/limits.js';
import { invalid, RunwatchError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { PreparedEvent } from '../store/store.js';
import { credentialsOf, type RequestCredentials } from './access.js';
import { readJsonBody } from './body.js';

/**
 * The JSON API, one function per endpoint. Routes are thin: they call these with the runtime
 * from `event.locals`; every failure becomes `{ error: { code, message } }` in the route helper.
 */

function unauthorisedIngest(): RunwatchError {
	return new RunwatchError(
		'unauthorized',
		'Send the ingest token as "Authorization: Bearer <token>" (see RUNWATCH_INGEST_TOKEN, or the token file in the data directory)'
	);
}

export function requireIngest(runtime: Runtime, request: Request, url: URL): void {
	if (!runtime.access.canIngest(credentialsOf(request, url))) throw unauthorisedIngest();
}

export function requireView(runtime: Runtime, request: Request, url: URL): void {
	if (!runtime.access.canView(credentialsOf(request, url))) {
		throw new RunwatchError('unauthorized', 'Sign in or use a share link to view executions');
	}
}

function parseId(raw: string): string {
	const result = idSchema.safeParse(raw);
	if (!result.success) throw invalid('bad_request', result.error, 'execution id: ');
	return result.data;
}

/** A random, unguessable id: 128 bits, URL-safe. */
export function generateId(): string {
	return randomBytes(16).toString('base64url');
}

export function executionUrl(runtime: Runtime, url: URL, id: string): string {
	const base = runtime.config.origin ?? url.origin;
	return `${base}/executions/${encodeURIComponent(id)}`;
}

export async function createExecution(runtime: Runtime, request: Request, url: URL): Promise<Response> {
	requireIngest(runtime, request, url);
	const result = createExecutionSchema.safeParse(await readJsonBody(request));
	if (!result.success) throw invalid('invalid_body', result.error);
	const body = result.data;
	const { execution, created } = await runtime.store.createExecution({
		id: body.id ?? generateId(),
		agent: body.agent,
		department: body.department,
		metadata: body.metadata ?? {},
		createdAt: new Date().toISOString()
	});
	if (created) runtime.hub.publishExecution(execution);
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

/** Validates one event and fills in what the server owns: `id` when absent, `ts` when absent. */
function prepare(event: EventInput, now: string): PreparedEvent {
	const prepared: PreparedEvent = { id: event.id ?? randomUUID(), type: event.type, ts: event.ts ?? now };
	if (event.stepId !== undefined) prepared.stepId = event.stepId;
	if (event.parentStepId !== undefined) prepared.parentStepId = event.parentStepId;
	if (event.data !== undefined) prepared.data = event.data;
	return prepared;
}

/**
 * The ingest core: validates, stores (acknowledging only after commit) and fans out. Shared by
 * the SvelteKit route and the Node fast path in `fast-ingest.ts`, which differ only in how the
 * request arrives; `readBody` runs after the token check, so nobody unauthorised is read.
 */
export async function ingestEvents(
	runtime: Runtime,
	credentials: RequestCredentials,
	rawId: string,
	readBody: () => Promise<unknown>
): Promise<PostEventsResponse> {
	if (!runtime.access.canIngest(credentials)) throw unauthorisedIngest();
	const id = parseId(rawId);
	const done = runtime.beginIngest();
	try {
		const body = await readBody();
		const isBatch = body !== null && typeof body === 'object' && 'events' in body;
		let inputs: EventInput[];
		if (isBatch) {
			const result = eventBatchSchema.safeParse(body);
			if (!result.success) throw invalid('invalid_event', result.error);
			inputs = result.data.events;
		} else {
			const result = eventInputSchema.safeParse(body);
			if (!result.success) throw invalid('invalid_event', result.error);
			inputs = [result.data];
		}
		const now = new Date().toISOString();
		const prepared = inputs.map((input, index) => {
			const event = prepare(input, now);
			// Serialised once: this text is the size check, the stored row and the live frame.
			const json = JSON.stringify(event);
			const size = json.length <= MAX_EVENT_BYTES / 3 ? json.length : Buffer.byteLength(json);
			if (size > MAX_EVENT_BYTES) {
				throw new RunwatchError(
					'payload_too_large',
					`${isBatch ? `events.${index}` : 'event'} is ${size} bytes; an event may be at most ${MAX_EVENT_BYTES} bytes`
				);
			}
			event.json = json;
			return event;
		});
		const { stored, rows, results, execution } = await runtime.store.appendEvents(id, prepared);
		// Acknowledged only now, after commit; viewers get the events on the next tick, as the
		// very JSON text that was stored.
		runtime.hub.publishRows(id, rows);
		if (stored.length > 0) runtime.hub.publishExecution(execution);
		return { accepted: stored.length, lastSeq: execution.lastSeq, results };
	} finally {
		done();
	}
}

export async function postEvents(runtime: Runtime, request: Request, url: URL, rawId: string): Promise<Response> {
	return json(await ingestEvents(runtime, credentialsOf(request, url), rawId, () => readJsonBody(request)));
}
