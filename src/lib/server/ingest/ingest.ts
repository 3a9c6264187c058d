import { randomBytes, randomUUID } from 'node:crypto';
import { eventBatchSchema, type PostEventsResponse } from '../../protocol/api.js';
import { eventInputSchema, idSchema, type EventInput } from '../../protocol/events.js';
import type { CreateExecutionInput, Execution } from '../../protocol/executions.js';
import { MAX_EVENT_BYTES } from '../../protocol/limits.js';
import { invalid, RunwatchError } from '../errors.js';
import { typeWarnings } from './type-hints.js';
import type { RequestCredentials } from '../access/credentials.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import type { NewExecution, PreparedEvent, Store, StoredRow } from '../store/store.js';

/** Where committed news goes: the hub on this node (and, across nodes, a bus behind it). */
export interface Publisher {
	publishRows(executionId: string, rows: StoredRow[]): void;
	publishExecution(execution: Execution): void;
	/** The execution and its events are gone (committed): its viewers and the list hear of it. */
	publishDeleted(executionId: string): void;
}

export interface IngestDependencies {
	store: Pick<Store, 'createExecution' | 'appendEvents' | 'deleteExecution' | 'createAndAppendMany'>;
	publisher: Publisher;
	access: { canIngest(credentials: RequestCredentials): boolean };
	/**
	 * Marks one write in flight and returns the function that ends it, so that shutdown waits
	 * for it; throws `shutting_down` once the node drains.
	 */
	admit(): () => void;
	/** Events per second per ingest token (`RUNWATCH_INGEST_RATE`); absent when switched off. */
	rateLimiter?: RateLimiter;
}

/**
 * The rate limiter's key. A deployment has one ingest token today, so one bucket; once Access
 * knows several tokens, this becomes the token it matched.
 */
const INGEST_RATE_KEY = 'ingest-token';

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

/** The 401 of ingest: whether a token came at all decides the first words (nothing of it is echoed). */
export function unauthorisedIngest(credentials: RequestCredentials = {}): RunwatchError {
	const header = credentials.authorization?.trim() ?? '';
	const sent = /^bearer\s+\S/i.test(header);
	const first = sent
		? 'The bearer token sent is not the ingest token. '
		: header
			? 'The Authorization header does not start with "Bearer ". '
			: 'No ingest token was sent. ';
	return new RunwatchError(
		'unauthorized',
		`${first}Send the ingest token as "Authorization: Bearer <token>" (see RUNWATCH_INGEST_TOKEN, or the token file in the data directory)`
	);
}

/**
 * Fills in what the server owns (`id`, `ts` when absent) and serialises the event once.
 * `dataJson`, when given, is `JSON.stringify(event.data)` already made by the caller (the OTLP
 * mapping makes it to keep the data under the size limit), so the data is not serialised again.
 */
function prepare(event: EventInput, now: string, label: (index: number) => string, index: number, dataJson?: string): PreparedEvent {
	const prepared: PreparedEvent = { id: event.id ?? randomUUID(), type: event.type, ts: event.ts ?? now };
	if (event.stepId !== undefined) prepared.stepId = event.stepId;
	if (event.parentStepId !== undefined) prepared.parentStepId = event.parentStepId;
	// This text is the size check, the stored row and the live frame.
	let json: string;
	if (dataJson !== undefined && event.data !== undefined) {
		// `data` is the last field: its text goes where JSON.stringify would put it.
		json = `${JSON.stringify(prepared).slice(0, -1)},"data":${dataJson}}`;
		prepared.data = event.data;
	} else {
		if (event.data !== undefined) prepared.data = event.data;
		json = JSON.stringify(prepared);
	}
	const size = json.length <= MAX_EVENT_BYTES / 3 ? json.length : Buffer.byteLength(json);
	if (size > MAX_EVENT_BYTES) {
		throw new RunwatchError('payload_too_large', `${label(index)} is ${size} bytes; an event may be at most ${MAX_EVENT_BYTES} bytes`);
	}
	prepared.json = json;
	return prepared;
}

function newExecution(input: CreateExecutionInput, createdAt: string): NewExecution {
	return { id: input.id ?? generateId(), agent: input.agent, department: input.department, metadata: input.metadata ?? {}, createdAt };
}

/** `POST .../events` takes one event or `{ events: [...] }`. */
export function parseEventsBody(body: unknown): { inputs: EventInput[]; isBatch: boolean } {
	const isBatch = body !== null && typeof body === 'object' && 'events' in body;
	if (isBatch) {
		const result = eventBatchSchema.safeParse(body);
		if (!result.success) throw invalid('invalid_event', result.error);
		return { inputs: result.data.events, isBatch };
	}
	if (Array.isArray(body)) {
		throw new RunwatchError('invalid_event', `Body is a bare array of ${body.length} ${body.length === 1 ? 'item' : 'items'}; send {"events": [...]} for a batch, or one event object`);
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

	/**
	 * Throws `unauthorized` unless the credentials carry the ingest token, and `rate_limited`
	 * (429 with `Retry-After`) while that token is over its rate: before any body is read.
	 */
	authorize(credentials: RequestCredentials): void {
		if (!this.#deps.access.canIngest(credentials)) throw unauthorisedIngest(credentials);
		this.#deps.rateLimiter?.admit(INGEST_RATE_KEY);
	}

	/** Creates the execution, or returns the one with that id (`created: false`). */
	async createExecution(input: CreateExecutionInput): Promise<{ execution: Execution; created: boolean }> {
		const done = this.#deps.admit();
		try {
			this.#deps.rateLimiter?.charge(INGEST_RATE_KEY, 1);
			const result = await this.#deps.store.createExecution(newExecution(input, new Date().toISOString()));
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
		// Paid here, once the count is known (the token's bucket may go into debt, which refuses
		// its next requests in `authorize`); every way in (route, fast path, cancel, OTLP) pays.
		this.#deps.rateLimiter?.charge(INGEST_RATE_KEY, inputs.length);
		const now = new Date().toISOString();
		const prepared = inputs.map((input, index) => prepare(input, now, label, index));
		const { stored, rows, results, execution } = await this.#deps.store.appendEvents(executionId, prepared);
		this.#deps.publisher.publishRows(executionId, rows);
		if (stored.length > 0) this.#deps.publisher.publishExecution(execution);
		return { accepted: stored.length, lastSeq: execution.lastSeq, results, execution };
	}

	/**
	 * For each item, `createExecution` then `appendEvents` (OTLP: the traces of one request), in
	 * one store transaction when the store can (one commit for all), else item by item. An item
	 * whose events are refused before the store (too big) gets its error and the others go on;
	 * an error of the store fails the call. Each item's news is published as the two calls would.
	 */
	async createAndAppendMany(
		items: readonly {
			execution: CreateExecutionInput & { id: string };
			events: EventInput[];
			/** Each event's `JSON.stringify(data)` when the caller has it (see `prepare`). */
			dataJson?: readonly (string | undefined)[];
			label: (index: number) => string;
		}[]
	): Promise<{ error?: RunwatchError }[]> {
		const done = this.#deps.admit();
		try {
			const now = new Date().toISOString();
			const outcomes: { error?: RunwatchError }[] = [];
			const ready: { execution: NewExecution; events: PreparedEvent[] }[] = [];
			let charge = 0;
			for (const item of items) {
				try {
					const events = item.events.map((input, index) => prepare(input, now, item.label, index, item.dataJson?.[index]));
					ready.push({ execution: newExecution(item.execution, now), events });
					charge += 1 + events.length;
					outcomes.push({});
				} catch (error) {
					if (!(error instanceof RunwatchError)) throw error;
					outcomes.push({ error });
				}
			}
			this.#deps.rateLimiter?.charge(INGEST_RATE_KEY, charge);
			const { store, publisher } = this.#deps;
			if (store.createAndAppendMany) {
				for (const result of await store.createAndAppendMany(ready)) {
					if (result.created) publisher.publishExecution(result.created);
					this.#publishAppend(result);
				}
				return outcomes;
			}
			for (const { execution, events } of ready) {
				const created = await store.createExecution(execution);
				if (created.created) publisher.publishExecution(created.execution);
				this.#publishAppend(await store.appendEvents(execution.id, events));
			}
			return outcomes;
		} finally {
			done();
		}
	}

	#publishAppend({ stored, rows, execution }: { stored: unknown[]; rows: StoredRow[]; execution: Execution }): void {
		this.#deps.publisher.publishRows(execution.id, rows);
		if (stored.length > 0) this.#deps.publisher.publishExecution(execution);
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
			const warnings = typeWarnings(inputs);
			return warnings.length > 0 ? { accepted, lastSeq, results, warnings } : { accepted, lastSeq, results };
		} finally {
			done();
		}
	}
}
