/**
 * Delivery for one execution: create it, then post its events in order, one request in flight,
 * in batches, retrying with the same event ids until the server has them. Shared by the client
 * and the OpenTelemetry span processor.
 */
import { backoff } from './backoff.js';
import type { ResolvedConfig } from './config.js';
import { RunwatchClientError, type RunwatchErrorCode } from './errors.js';
import { isoFromMs, serialiseEvent, type OutgoingEvent } from './events.js';
import { MAX_EVENT_BYTES } from './limits.js';
import { postJson, type HttpOutcome } from './http.js';
import { idPrefix } from './ids.js';
import { EventQueue, QueueBudget, type QueuedEvent } from './queue.js';

/** Counters of one client (or span processor), across its executions. */
export interface DeliveryStats {
	/** Events the server acknowledged. */
	sent: number;
	/** Events never sent: refused by a full queue, or still queued when a flush on close or exit ran out of time. */
	dropped: number;
	/** Requests retried (network errors, timeouts, 408, 429, 5xx). */
	retries: number;
	/** Events the server refused for good (a 4xx other than 408/429), or that could not be sent because it refused the execution. */
	failed: number;
	/** Events waiting in memory right now. */
	queued: number;
}

/** What a sender shares with the others of its client. */
export interface DeliveryContext {
	config: ResolvedConfig;
	budget: QueueBudget;
	stats: Omit<DeliveryStats, 'queued'>;
	report(error: RunwatchClientError): void;
}

/** Default `onError`: one line on stderr per kind of problem, for the life of the client. */
export function warnOncePerCode(): (error: RunwatchClientError) => void {
	const seen = new Set<RunwatchErrorCode>();
	return (error) => {
		if (seen.has(error.code)) return;
		seen.add(error.code);
		process.stderr.write(`runwatch: ${error.message}\n`);
	};
}

/** The shared state of one client or span processor: budget, counters, error reporting. */
export function createDeliveryContext(config: ResolvedConfig): DeliveryContext {
	const onError = config.onError ?? warnOncePerCode();
	return {
		config,
		budget: new QueueBudget(config.maxQueueEvents, config.maxQueueBytes),
		stats: { sent: 0, dropped: 0, retries: 0, failed: 0 },
		report: (error) => {
			try {
				onError(error);
			} catch {
				// an onError that throws must not reach the agent
			}
		}
	};
}

/** The server's answer to the create. */
export interface CreatedExecution {
	id: string;
	url?: string;
	[key: string]: unknown;
}

type State = 'creating' | 'created' | 'refused';

export class ExecutionSender {
	readonly executionId: string;
	/** Resolves with the server's answer to the create, or `undefined` when it refused it or delivery was given up. */
	readonly created: Promise<CreatedExecution | undefined>;
	/** A fresh event id, unique within this execution (see `createIdSequence`). */
	readonly nextEventId = (): string => `${this.#idPrefix}-${(this.#nextSeq++).toString(36)}`;
	/** Called whenever the queue has drained (or delivery was given up). */
	onIdle: (() => void) | undefined;

	readonly #ctx: DeliveryContext;
	readonly #createBody: string;
	readonly #queue: EventQueue;
	readonly #eventsUrl: string;
	readonly #stop = new AbortController();
	#state: State = 'creating';
	#resolveCreated!: (value: CreatedExecution | undefined) => void;
	#pump: Promise<void> | undefined;
	#timer: NodeJS.Timeout | undefined;
	#waiters: ((drained: boolean) => void)[] = [];
	/** When the oldest event not yet taken into a request was queued (performance.now()). */
	#waitingSince: number | undefined;
	#outage = false;
	#unreportedDrops = 0;
	readonly #idPrefix = idPrefix();
	#nextSeq = 0;

	constructor(ctx: DeliveryContext, executionId: string, createBody: Record<string, unknown>) {
		this.#ctx = ctx;
		this.executionId = executionId;
		this.#createBody = JSON.stringify({ ...createBody, id: executionId });
		this.#queue = new EventQueue(ctx.budget);
		this.#eventsUrl = `${ctx.config.baseUrl}/api/executions/${encodeURIComponent(executionId)}/events`;
		this.created = new Promise((resolve) => (this.#resolveCreated = resolve));
		this.#kick();
	}

	/** Delivery was given up (`abandon`): nothing more is sent. */
	get stopped(): boolean {
		return this.#stop.signal.aborted;
	}

	/** Events waiting, and whether a request is in flight or due. */
	get pending(): boolean {
		return this.#queue.length > 0 || this.#pump !== undefined;
	}

	/**
	 * Queues an event; sync and cheap. `essential` events (start and end of an execution) are
	 * queued even over the memory budget. Returns false when the event was dropped.
	 */
	enqueue(event: OutgoingEvent, essential = false): boolean {
		const json = serialiseEvent(event);
		return this.#push({ json, bytes: Buffer.byteLength(json), essential });
	}

	/**
	 * Queues an event whose `data` the client built itself and nobody else holds: strings,
	 * finite numbers and booleans at its top level only. Its id, time and JSON are made when it
	 * is sent, off the agent's call path; its size in the memory budget is an estimate (JSON
	 * characters), since the exact bytes are known only then.
	 */
	enqueueOwn(type: string, data: Record<string, string | number | boolean> | undefined, stepId: string | undefined, parentStepId: string | undefined, essential: boolean, tsMs: number = Date.now()): boolean {
		let bytes = 64 + type.length + (stepId ? stepId.length + 12 : 0) + (parentStepId ? parentStepId.length + 18 : 0);
		if (data) for (const key in data) {
			const value = data[key];
			bytes += key.length + 4 + (typeof value === 'string' ? value.length + 2 : 24);
		}
		return this.#push(new OwnEvent(this.#nextSeq++, tsMs, type, data, stepId, parentStepId, bytes, essential));
	}

	/** Queues an event serialised without its id (`{"type":…}`); the id is given here, in queue order. */
	enqueueJson(jsonWithoutId: string, essential: boolean): boolean {
		const json = `{"id":"${this.nextEventId()}",${jsonWithoutId.slice(1)}`;
		return this.#push({ json, bytes: Buffer.byteLength(json), essential });
	}

	#push(item: QueuedEvent): boolean {
		if (this.stopped || this.#state === 'refused') {
			if (this.stopped) this.#ctx.stats.dropped++;
			else this.#ctx.stats.failed++;
			return false;
		}
		if (!this.#queue.push(item)) {
			this.#ctx.stats.dropped++;
			if (this.#unreportedDrops++ === 0) {
				this.#ctx.report(
					new RunwatchClientError(
						'dropped',
						`event queue full (${this.#ctx.budget.maxEvents} events / ${this.#ctx.budget.maxBytes} bytes): newer events are dropped until the server catches up`,
						this.executionId
					)
				);
			}
			return false;
		}
		this.#waitingSince ??= performance.now();
		if (this.#pump) return true;
		// Idle with events waiting means a timer is set (or this is the first event): only a full
		// batch needs to go sooner than it.
		if (this.#batchFull()) this.#kick();
		else this.#kickLater();
		return true;
	}

	#batchFull(): boolean {
		const { maxBatchEvents, maxBatchBytes } = this.#ctx.config;
		return this.#queue.length >= maxBatchEvents || this.#queue.bytes >= maxBatchBytes;
	}

	/**
	 * Whether the next request should go now: a full batch is waiting, someone awaits a flush,
	 * or the oldest waiting event has waited `flushIntervalMs`. Otherwise events wait for
	 * others to share their request, even while the server answers fast: a request costs the
	 * agent's thread far more than an event does, so under load requests carry full batches.
	 */
	#batchDue(): boolean {
		if (this.#waiters.length > 0 || this.#batchFull()) return true;
		return this.#waitingSince === undefined || performance.now() - this.#waitingSince >= this.#ctx.config.flushIntervalMs;
	}

	/** Sends when the oldest waiting event has waited `flushIntervalMs`. */
	#kickLater(): void {
		if (this.#timer) return;
		const waited = this.#waitingSince === undefined ? 0 : performance.now() - this.#waitingSince;
		this.#timer = setTimeout(() => this.#kick(), Math.max(0, this.#ctx.config.flushIntervalMs - waited));
		this.#timer.unref();
	}

	/**
	 * Sends everything queued now. Resolves `true` once the queue is empty, or `false` when
	 * `timeoutMs` passes first (the events stay queued) or delivery was given up (`abandon`). Keeps the
	 * process alive while it waits.
	 */
	flush(timeoutMs: number): Promise<boolean> {
		if (this.stopped) return Promise.resolve(false);
		if (!this.pending && this.#state !== 'creating') return Promise.resolve(true);
		this.#kick();
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				this.#waiters = this.#waiters.filter((w) => w !== waiter);
				resolve(false);
			}, timeoutMs);
			const waiter = (drained: boolean) => {
				clearTimeout(timer);
				resolve(drained);
			};
			this.#waiters.push(waiter);
		});
	}

	/** Gives up delivery: what is still queued counts as dropped; later events are dropped too. */
	abandon(): void {
		if (this.stopped) return;
		this.#stop.abort();
		clearTimeout(this.#timer);
		const left = this.#queue.clear();
		if (left > 0) {
			this.#ctx.stats.dropped += left;
			this.#ctx.report(new RunwatchClientError('abandoned', `gave up on ${left} events that could not be delivered in time`, this.executionId));
		}
		this.#resolveCreated(undefined);
		this.#settle(false);
	}

	#settle(drained: boolean): void {
		for (const waiter of this.#waiters.splice(0)) waiter(drained);
		this.onIdle?.();
	}

	#kick(): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
		if (this.#pump || this.stopped) return;
		this.#pump = this.#run().finally(() => {
			this.#pump = undefined;
			if (this.stopped) return;
			if (this.#queue.length === 0 || this.#state === 'refused') this.#settle(this.#queue.length === 0);
			else if (this.#batchDue()) this.#kick();
			else this.#kickLater();
		});
	}

	async #run(): Promise<void> {
		while (!this.stopped) {
			if (this.#state === 'creating') {
				const outcome = await this.#withRetry(() => this.#post(`${this.#ctx.config.baseUrl}/api/executions`, this.#createBody));
				if (this.stopped) return;
				if (outcome.kind === 'ok') {
					this.#state = 'created';
					this.#resolveCreated(outcome.body as CreatedExecution);
				} else {
					this.#refuse(outcome, 'the server refused to create the execution');
					return;
				}
			}
			if (this.#state === 'refused') return;
			const batch = this.#nextBatch();
			if (batch.length === 0) return;
			if (batch.length === this.#queue.length) this.#waitingSince = undefined;
			await this.#send(batch);
			if (this.#queue.length > 0 && !this.#batchDue()) return;
		}
	}

	/**
	 * The oldest events that fit in one request (at most `maxBatchEvents`, and `maxBatchBytes`
	 * unless the first alone is bigger), serialised now if they were not yet. Exact UTF-8 bytes
	 * are counted only when the characters could pass the limit.
	 */
	#nextBatch(): QueuedEvent[] {
		const { maxBatchEvents, maxBatchBytes } = this.#ctx.config;
		const items = this.#queue.peek(maxBatchEvents, Infinity);
		let chars = 0;
		let bytes = 0;
		for (let i = 0; i < items.length; i++) {
			const item = items[i]!;
			const json = (item.json ??= (item as OwnEvent).serialise(this.#idPrefix));
			chars += json.length + 1;
			if (chars * 3 <= maxBatchBytes) continue;
			// Past the cheap bound: count this one exactly (and the ones before, once).
			if (bytes === 0) for (let j = 0; j < i; j++) bytes += Buffer.byteLength(items[j]!.json!) + 1;
			bytes += Buffer.byteLength(json) + 1;
			if (bytes > maxBatchBytes && i > 0) return items.slice(0, i);
		}
		return items;
	}

	/** Sends one batch until the server has it; a batch refused for its content is halved until the bad event is found and dropped alone. */
	async #send(batch: QueuedEvent[]): Promise<void> {
		const body = `{"events":[${batch.map((item) => item.json).join(',')}]}`;
		// The answer lists every event's seq: not needed here, so not parsed unless it is an error.
		const outcome = await this.#withRetry(() => this.#post(this.#eventsUrl, body, false));
		if (this.stopped) return;
		if (outcome.kind === 'ok') {
			this.#queue.remove(batch.length);
			this.#ctx.stats.sent += batch.length;
			if (this.#unreportedDrops > 0) {
				const dropped = this.#unreportedDrops;
				this.#unreportedDrops = 0;
				this.enqueue(
					{
						id: this.nextEventId(),
						type: 'log',
						ts: new Date().toISOString(),
						data: { level: 'warn', message: `@runwatch/client dropped ${dropped} events: its queue was full while the server was slow or unreachable` }
					},
					true
				);
			}
			return;
		}
		if (outcome.kind !== 'refused') return;
		const contentProblem = outcome.status === 400 || outcome.status === 413;
		if (!contentProblem) return this.#refuse(outcome, 'the server refused the events');
		if (batch.length > 1) {
			const half = Math.ceil(batch.length / 2);
			await this.#send(batch.slice(0, half));
			if (!this.stopped && this.#state === 'created') await this.#send(batch.slice(half));
			return;
		}
		this.#queue.remove(1);
		this.#ctx.stats.failed++;
		this.#ctx.report(new RunwatchClientError('refused', `the server refused an event (${outcome.message}); it was dropped`, this.executionId, outcome.status));
	}

	/** The execution or the token was refused: nothing of this execution can be delivered. */
	#refuse(outcome: HttpOutcome, what: string): void {
		this.#state = 'refused';
		this.#resolveCreated(undefined);
		this.#ctx.stats.failed += this.#queue.clear();
		const status = outcome.kind === 'refused' ? outcome.status : undefined;
		const hint = status === 401 ? ' (set RUNWATCH_TOKEN to the ingest token: `cat data/ingest-token` on the server)' : '';
		this.#ctx.report(new RunwatchClientError('refused', `${what}: ${outcome.kind === 'ok' ? '' : outcome.message}${hint}`, this.executionId, status));
	}

	#post(url: string, body: string, parseOk = true): Promise<HttpOutcome> {
		return postJson(url, body, { token: this.#ctx.config.token, timeoutMs: this.#ctx.config.requestTimeoutMs, signal: this.#stop.signal, parseOk });
	}

	async #withRetry(attempt: () => Promise<HttpOutcome>): Promise<HttpOutcome> {
		for (let n = 0; ; n++) {
			const outcome = await attempt();
			if (outcome.kind !== 'retry' || this.stopped) {
				if (outcome.kind === 'ok') this.#outage = false;
				return outcome;
			}
			this.#ctx.stats.retries++;
			if (!this.#outage) {
				this.#outage = true;
				this.#ctx.report(
					new RunwatchClientError(
						'unreachable',
						`cannot deliver to ${this.#ctx.config.baseUrl} (${outcome.message}); events are kept in memory and retried`,
						this.executionId,
						outcome.status
					)
				);
			}
			const delay = outcome.retryAfterMs ?? backoff(n, { minMs: 100, maxMs: this.#ctx.config.maxRetryDelayMs });
			await sleep(delay, this.#stop.signal);
		}
	}
}

/** An event queued by {@link ExecutionSender.enqueueOwn}: its fields as given, JSON made when first sent. */
class OwnEvent implements QueuedEvent {
	json: string | undefined = undefined;
	constructor(
		readonly seq: number,
		readonly tsMs: number,
		readonly type: string,
		readonly data: Record<string, string | number | boolean> | undefined,
		readonly stepId: string | undefined,
		readonly parentStepId: string | undefined,
		readonly bytes: number,
		readonly essential: boolean
	) {}

	/** Its JSON, in the field order of `OutgoingEvent`, built as text: no event object to make and walk. */
	serialise(idPrefix: string): string {
		let json = `{"id":"${idPrefix}-${this.seq.toString(36)}","type":${JSON.stringify(this.type)},"ts":"${isoFromMs(this.tsMs)}"`;
		if (this.stepId !== undefined) json += `,"stepId":${JSON.stringify(this.stepId)}`;
		if (this.parentStepId !== undefined) json += `,"parentStepId":${JSON.stringify(this.parentStepId)}`;
		if (this.data !== undefined) json += `,"data":${JSON.stringify(this.data)}`;
		json += '}';
		if (json.length * 3 <= MAX_EVENT_BYTES || Buffer.byteLength(json) <= MAX_EVENT_BYTES) return json;
		return serialiseEvent(JSON.parse(json) as OutgoingEvent);
	}
}

/** A timer that never keeps the process alive, and ends early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		if (signal?.aborted) return resolve();
		const done = () => {
			clearTimeout(timer);
			signal?.removeEventListener('abort', done);
			resolve();
		};
		const timer = setTimeout(done, ms);
		timer.unref();
		signal?.addEventListener('abort', done, { once: true });
	});
}
