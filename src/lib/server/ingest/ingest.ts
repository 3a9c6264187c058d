import { randomBytes, randomUUID } from 'node:crypto';
import { eventBatchSchema, type PostEventsResponse } from '../../protocol/api.js';
import { eventInputSchema, idSchema, type EventInput } from '../../protocol/events.js';
import type { CreateExecutionInput, Execution } from '../../protocol/executions.js';
import { MAX_EVENT_BYTES } from '../../protocol/limits.js';
import { invalid, RunwatchError } from '../errors.js';
import type { RequestCredentials } from '../access/credentials.js';
import type { PreparedEvent, Store, StoredRow } from '../store/store.js';

/** Where committed news goes: the hub on this node (and, across nodes, a bus behind it). */
export interface Publisher {
	publishRows(executionId: string, rows: StoredRow[]): void;
	publishExecution(execution: Execution): void;
	/** The execution and its events are gone (committed): its viewers and the list hear of it. */
	publishDeleted(executionId: string): void;
}

export interface IngestDependencies {
	store: Pick<Store, 'createExecution' | 'appendEvents' | 'deleteExecution'>;
	publisher: Publisher;
	access: { canIngest(credentials: RequestCredentials): boolean };
	/**
	 * Marks one write in flight and returns the function that ends it, so that shutdown waits
	 * for it; throws `shutting_down` once the node drains.
	 */
	admit(): () => void;
}

/** A random, unguessable id: 128 bits, URL-safe. */
export function generateId(): string {
	return randomBytes(16).toString('base64url');
}

/** An execution id from a path or a body: 1–64 of `[A-Za-z0-9_-]`, else `bad_request`. */
export function parseExecutionId(raw: string): string {
	const result = idSchema.safeParse(raw);
	if (!result.success) throw invalid('bad_request', result.error, 'execution id: ');
	return result.data;
}

export function unauthorisedIngest(): RunwatchError {
	return new RunwatchError(
		'unauthorized',
		'Send the ingest token as "Authorization: Bearer <token>" (see RUNWATCH_INGEST_TOKEN, or the token file in the data directory)'
	);
}

/** Fills in what the server owns (`id`, `ts` when absent) and serialises the event once. */
function prepare(event: EventInput, now: string, where: string): PreparedEvent {
	const prepared: PreparedEvent = { id: event.id ?? randomUUID(), type: event.type, ts: event.ts ?? now };
	if (event.stepId !== undefined) prepared.stepId = event.stepId;
	if (event.parentStepId !== undefined) prepared.parentStepId = event.parentStepId;
	if (event.data !== undefined) prepared.data = event.data;
	// This text is the size check, the stored row and the live frame.
	const json = JSON.stringify(prepared);
	const size = json.length <= MAX_EVENT_BYTES / 3 ? json.length : Buffer.byteLength(json);
	if (size > MAX_EVENT_BYTES) {
		throw new RunwatchError('payload_too_large', `${where} is ${size} bytes; an event may be at most ${MAX_EVENT_BYTES} bytes`);
	}
	prepared.json = json;
	return prepared;
}

/** `POST .../events` takes one event or `{ events: [...] }`. */
export function parseEventsBody(body: unknown): { inputs: EventInput[]; isBatch: boolean } {
	const isBatch = body !== null && typeof body === 'object' && 'events' in body;
	if (isBatch) {
		const result = eventBatchSchema.safeParse(body);
		if (!result.success) throw invalid('invalid_event', result.error);
		return { inputs: result.data.events, isBatch };
	}
	const result = eventInputSchema.safeParse(body);
	if (!result.success) throw invalid('invalid_event', result.error);
	return { inputs: [result.data], isBatch };
}

/**
 * The one way events get in: the SvelteKit routes, the Node fast path for `POST .../events`,
 * the cancel endpoint and OTLP all call this. Each write is acknowledged only after commit, and
 * what was committed is then published, as the very JSON text that was stored.
 */
export class Ingest {
	readonly #deps: IngestDependencies;

	constructor(deps: IngestDependencies) {
		this.#deps = deps;
	}

	/** Throws `unauthorized` unless the credentials carry the ingest token. */
	authorize(credentials: RequestCredentials): void {
		if (!this.#deps.access.canIngest(credentials)) throw unauthorisedIngest();
	}

	/** Creates the execution, or returns the one with that id (`created: false`). */
	async createExecution(input: CreateExecutionInput): Promise<{ execution: Execution; created: boolean }> {
		const done = this.#deps.admit();
		try {
			const result = await this.#deps.store.createExecution({
				id: input.id ?? generateId(),
				agent: input.agent,
				department: input.department,
				metadata: input.metadata ?? {},
				createdAt: new Date().toISOString()
			});
			if (result.created) this.#deps.publisher.publishExecution(result.execution);
			return result;
		} finally {
			done();
		}
	}

	/**
	 * Stores events (already validated by `eventInputSchema`) for one execution and publishes
	 * what was new. `label` names an event in errors (`events.3`).
	 */
	async appendEvents(
		executionId: string,
		inputs: EventInput[],
		label: (index: number) => string = (index) => `events.${index}`
	): Promise<PostEventsResponse & { execution: Execution }> {
		const done = this.#deps.admit();
		try {
			return await this.#append(executionId, inputs, label);
		} finally {
			done();
		}
	}

	async #append(executionId: string, inputs: EventInput[], label: (index: number) => string) {
		const now = new Date().toISOString();
		const prepared = inputs.map((input, index) => prepare(input, now, label(index)));
		const { stored, rows, results, execution } = await this.#deps.store.appendEvents(executionId, prepared);
		this.#deps.publisher.publishRows(executionId, rows);
		if (stored.length > 0) this.#deps.publisher.publishExecution(execution);
		return { accepted: stored.length, lastSeq: execution.lastSeq, results, execution };
	}

	/**
	 * Deletes the execution with its events (one transaction) and announces it. False when there
	 * was no such execution. Later ingest into it answers `not_found`, as for any unknown one.
	 */
	async deleteExecution(executionId: string): Promise<boolean> {
		const done = this.#deps.admit();
		try {
			const deleted = await this.#deps.store.deleteExecution(executionId);
			if (deleted) this.#deps.publisher.publishDeleted(executionId);
			return deleted;
		} finally {
			done();
		}
	}

	/**
	 * `POST /api/executions/:id/events`, however the request arrived (SvelteKit route or the Node
	 * fast path): token first, so nobody unauthorised is read; then the body, validation, commit.
	 */
	async postEvents(request: {
		credentials: RequestCredentials;
		executionId: string;
		readBody: () => Promise<unknown>;
	}): Promise<PostEventsResponse> {
		this.authorize(request.credentials);
		const id = parseExecutionId(request.executionId);
		// Admitted before the body is read: a request whose body is still arriving when shutdown
		// begins is finished, not cut.
		const done = this.#deps.admit();
		try {
			const { inputs, isBatch } = parseEventsBody(await request.readBody());
			const { accepted, lastSeq, results } = await this.#append(id, inputs, (index) => (isBatch ? `events.${index}` : 'event'));
			return { accepted, lastSeq, results };
		} finally {
			done();
		}
	}
}
