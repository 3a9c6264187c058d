/** The handle of one execution: what an agent calls while it runs. */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import type { ResolvedConfig } from './config.js';
import type { DeliveryLink, LinkedExecution } from './delivery-link.js';
import { cleanName, cutString, jsonValue, serialiseEvent, splitText, type OutgoingEvent } from './events.js';
import { OUTPUT_PIECE_UNITS } from './limits.js';
import { randomId } from './ids.js';
import type { DeliveryStats } from './sender.js';

export type StepKind = 'llm' | 'tool' | 'agent' | 'custom';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Options of {@link Execution.step}. */
export interface StepOptions {
	/** What the step is. Default `'custom'`. */
	kind?: StepKind;
	/** Recorded on `step-start` (JSON; bigger than ~16 KiB is truncated with a note). */
	input?: unknown;
}

/** Token counts and cost; each is added to the execution's totals, so report each token once. */
export interface Usage {
	inputTokens?: number;
	outputTokens?: number;
	costUsd?: number;
}

/** The step a callback runs in. */
export interface StepContext {
	/** This step's id (`stepId` of its events). */
	readonly id: string;
}

interface StepFrame {
	execution: Execution;
	stepId: string;
	outer: StepFrame | undefined;
}

/** The enclosing steps of the running code, per async context: concurrent steps nest correctly. */
const steps = new AsyncLocalStorage<StepFrame>();
/** Until a first step starts there is no step to look up: events skip the (not free) context lookup. */
let stepsUsed = false;

const STEP_KINDS = new Set<string>(['llm', 'tool', 'agent', 'custom']);
/** Events queued even over the memory budget: an execution's start and its end. */
const ESSENTIAL = new Set<string>(['agent-start', 'agent-complete', 'error', 'cancelled']);
/** Events that end an execution: the cancel watch stops there. */
const ENDS = new Set<string>(['agent-complete', 'error', 'cancelled']);
/**
 * Longest string field of the client's own events (a log message, an error's message and stack)
 * handed to the delivery side: two of them stay under the largest event (240 KiB), which
 * the server's limit (256 KiB) would cut anyway.
 */
const MAX_FIELD_UNITS = 64 * 1024;

type FlatData = Record<string, string | number | boolean>;
const LOG_LEVELS = new Set<string>(['debug', 'info', 'warn', 'error']);

function errorData(error: unknown): { message: string; stack?: string } {
	if (error instanceof Error) return { message: error.message || error.name, ...(error.stack ? { stack: error.stack } : {}) };
	const like = error as { message?: unknown; stack?: unknown } | null;
	if (typeof like?.message === 'string') return { message: like.message, ...(typeof like.stack === 'string' ? { stack: like.stack } : {}) };
	return { message: typeof error === 'string' ? error : (JSON.stringify(jsonValue(error)) ?? String(error)) };
}

function count(value: unknown, integer: boolean): number | undefined {
	if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return undefined;
	return integer ? Math.round(value) : value;
}

/**
 * One execution. Every method except {@link step}, {@link flush} and {@link close} only queues
 * an event and returns at once; none of them throws because of the server.
 */
export class Execution {
	/** The execution id (given to `start`, or 128 random bits in base64url). */
	readonly id: string;
	/**
	 * AbortSignal aborted when someone asks to cancel this execution (the dashboard's Cancel
	 * button, `POST /api/executions/:id/cancel`); `signal.reason` is the reason given, if any.
	 * Pass it to `fetch` and child processes, then call {@link cancelled} once stopped.
	 */
	readonly signal: AbortSignal;
	/** Resolves once the server answered the create (or it was refused or given up). */
	readonly ready: Promise<void>;

	#url: string;
	readonly #link: DeliveryLink;
	readonly #slot: number;
	readonly #config: ResolvedConfig;
	readonly #cancel = new AbortController();
	/** What the delivery side calls back; held here, so it lives exactly as long as this handle. */
	readonly #linked: LinkedExecution;
	#cancelReason: string | undefined;
	#ended = false;

	/** @internal Created by `Runwatch.start`/`open`: records the execution's opening on `link`. */
	constructor(link: DeliveryLink, config: ResolvedConfig, id: string, createBody: string) {
		this.id = id;
		this.#link = link;
		this.#config = config;
		this.#url = `${config.baseUrl}/executions/${encodeURIComponent(this.id)}`;
		this.signal = this.#cancel.signal;
		let resolveReady!: () => void;
		this.ready = new Promise((resolve) => (resolveReady = resolve));
		this.#linked = {
			// The server answered the create (`url` undefined: it refused, or delivery was given up).
			created: (url) => {
				if (url !== undefined) this.#url = url;
				resolveReady();
			},
			cancel: (reason) => {
				if (this.#cancel.signal.aborted) return;
				this.#cancelReason = reason;
				this.#cancel.abort(reason ?? 'cancel requested');
			}
		};
		this.#slot = link.open(this.#linked, id, createBody);
	}

	/** The execution's page: the server's answer when it came in time, else `<url>/executions/<id>`. */
	get url(): string {
		return this.#url;
	}

	/** Whether a cancel was requested. */
	get cancelRequested(): boolean {
		return this.#cancel.signal.aborted;
	}

	/** The reason given with the cancel request, if any. */
	get cancelReason(): string | undefined {
		return this.#cancelReason;
	}

	/** Whether `complete`, `fail` or `cancelled` was called. */
	get ended(): boolean {
		return this.#ended;
	}

	/**
	 * Calls `callback(reason)` when a cancel is requested (at once if it already was). Returns a
	 * function that removes it.
	 */
	onCancel(callback: (reason: string | undefined) => void): () => void {
		const listener = () => callback(this.#cancelReason);
		if (this.cancelRequested) {
			queueMicrotask(listener);
			return () => {};
		}
		this.signal.addEventListener('abort', listener, { once: true });
		return () => this.signal.removeEventListener('abort', listener);
	}

	/** Queues an event of any type (`type`: letters, digits, `_ . : / -`). */
	event(type: string, data?: Record<string, unknown>, options: { stepId?: string; parentStepId?: string } = {}): void {
		// No id here: the delivery side puts one in front, in queue order.
		const event = { type, ts: new Date().toISOString() } as OutgoingEvent;
		const stepId = options.stepId ?? this.#currentStep()?.stepId;
		if (stepId) event.stepId = stepId;
		if (options.parentStepId) event.parentStepId = options.parentStepId;
		if (data !== undefined) event.data = data;
		// Serialised now: the agent may change `data` after this call.
		this.#link.json(this.#slot, ESSENTIAL.has(type), serialiseEvent(event), ENDS.has(type));
	}

	/**
	 * Queues an event whose data this class built from strings and numbers (nobody else holds
	 * it), serialised at send time: the cheap path of `output`, `log`, `usage` and step ends.
	 */
	#emit(type: string, data: FlatData | undefined, stepId?: string): void {
		this.#link.own(this.#slot, ESSENTIAL.has(type), type, data, stepId ?? this.#currentStep()?.stepId, ENDS.has(type));
	}

	/**
	 * Streamed output. Text over 32 Ki characters goes as several `output` events.
	 * @param options.stream which stream it came from (e.g. `'stdout'`); default none.
	 */
	output(text: string, options?: { stream?: string }): void {
		const stream = options?.stream ? cleanName(options.stream, 'output') : undefined;
		const all = typeof text === 'string' ? text : String(text);
		const stepId = this.#currentStep()?.stepId;
		if (all.length <= OUTPUT_PIECE_UNITS) return this.#link.output(this.#slot, all, stream, stepId);
		for (const piece of splitText(all)) this.#link.output(this.#slot, piece, stream, stepId);
	}

	/** A log line. Unknown levels are sent as `info`. */
	log(level: LogLevel, message: string): void {
		this.#emit('log', { level: LOG_LEVELS.has(level) ? level : 'info', message: cutString(String(message), MAX_FIELD_UNITS) });
	}

	/**
	 * Runs `fn` as a step: records `step-start` (with the enclosing step as parent), then
	 * `step-end` with `fn`'s result (when it is JSON) and `durationMs`, or with `error` when it
	 * throws, and rethrows. Steps started inside `fn` — also concurrently — nest under this one.
	 */
	async step<T>(name: string, fn: (step: StepContext) => T | Promise<T>, options: StepOptions = {}): Promise<T> {
		const stepId = randomId();
		stepsUsed = true;
		const outer = this.#currentStep();
		const kind = options.kind && STEP_KINDS.has(options.kind) ? options.kind : 'custom';
		const input = jsonValue(options.input);
		this.event('step-start', { name: cleanName(name, 'step'), kind, ...(input !== undefined ? { input } : {}) }, { stepId, parentStepId: outer?.stepId });
		const started = performance.now();
		const frame: StepFrame = { execution: this, stepId, outer: steps.getStore() };
		try {
			const result = await steps.run(frame, () => fn({ id: stepId }));
			const output = jsonValue(result);
			const durationMs = Math.round(performance.now() - started);
			if (output === undefined) this.#emit('step-end', { durationMs }, stepId);
			else this.event('step-end', { output, durationMs }, { stepId });
			return result;
		} catch (error) {
			this.event('step-end', { error: errorData(error), durationMs: Math.round(performance.now() - started) }, { stepId });
			throw error;
		}
	}

	/** Token usage and cost (added to the execution's totals). Negative or non-numeric values are left out. */
	usage(usage: Usage): void {
		const data: Record<string, number> = {};
		const input = count(usage.inputTokens, true);
		const output = count(usage.outputTokens, true);
		const cost = count(usage.costUsd, false);
		if (input !== undefined) data.inputTokens = input;
		if (output !== undefined) data.outputTokens = output;
		if (cost !== undefined) data.costUsd = cost;
		this.#emit('usage', data);
	}

	/** Marks the execution completed (`agent-complete`), with an optional JSON output. */
	complete(output?: unknown): void {
		const value = jsonValue(output);
		this.event('agent-complete', value !== undefined ? { output: value } : undefined);
		this.#end();
	}

	/** Marks the execution failed (`error` with the message and stack). */
	fail(error: unknown): void {
		const { message, stack } = errorData(error);
		this.#emit('error', { message: cutString(message, MAX_FIELD_UNITS), ...(stack !== undefined ? { stack: cutString(stack, MAX_FIELD_UNITS) } : {}) });
		this.#end();
	}

	/** Records that the execution stopped because it was cancelled (`cancelled`). Default reason: the one given with the request. */
	cancelled(reason?: string): void {
		const why = reason ?? this.#cancelReason;
		this.#emit('cancelled', why !== undefined ? { reason: cutString(String(why), MAX_FIELD_UNITS) } : undefined);
		this.#end();
	}

	/**
	 * Waits until every event queued so far was delivered. Resolves `true` when it was, `false`
	 * when `timeoutMs` (default: the client's `flushTimeoutMs`, 5 s) passed first; never rejects.
	 */
	flush(options: { timeoutMs?: number } = {}): Promise<boolean> {
		return this.#link.request({ op: 'flush', slot: this.#slot, timeoutMs: options.timeoutMs ?? this.#config.flushTimeoutMs });
	}

	/**
	 * Stops watching for cancel and flushes (see {@link flush}); what is still queued when the
	 * time is up is given up and counted as dropped. Does not complete the execution.
	 */
	async close(options: { timeoutMs?: number } = {}): Promise<void> {
		await this.#link.request({ op: 'closeExecution', slot: this.#slot, timeoutMs: options.timeoutMs ?? this.#config.flushTimeoutMs });
	}

	/** Delivery counters of the client this execution belongs to. */
	stats(): DeliveryStats {
		return this.#link.stats();
	}

	#end(): void {
		this.#ended = true;
	}

	#currentStep(): StepFrame | undefined {
		if (!stepsUsed) return undefined;
		for (let frame = steps.getStore(); frame; frame = frame.outer) if (frame.execution === this) return frame;
		return undefined;
	}
}
