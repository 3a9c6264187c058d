/** The client: configuration, shared delivery state, executions, and the flush on exit. */
import { resolveConfig, type ResolvedConfig, type RunwatchOptions } from './config.js';
import { RunwatchClientError } from './errors.js';
import { cleanName, cutString, jsonValue, safeStringify } from './events.js';
import { DeliveryLink } from './delivery-link.js';
import { Execution } from './execution.js';
import { ID_PATTERN, randomId } from './ids.js';
import { sleep, type DeliveryStats } from './sender.js';

/** `{ name, ...anything }`, or just the name. */
export type Named = string | ({ name: string } & Record<string, unknown>);

/** Options of {@link Runwatch.start}. */
export interface StartOptions {
	/** The execution id (1–64 of `A-Z a-z 0-9 _ -`). Default: 128 random bits, base64url. Starting an id that exists continues it. */
	id?: string;
	/** The agent: `{ name, model?, ... }` or its name. */
	agent: Named;
	/** The department: `{ name, ... }` or its name. Default none. */
	department?: Named;
	/** String tags (at most 64; keys ≤ 128, values ≤ 1,024 characters). Default none. */
	metadata?: Record<string, string>;
	/** Recorded on the `agent-start` event (JSON). Default none. */
	input?: unknown;
}

function named(value: Named, fallback: string): Record<string, unknown> {
	if (typeof value === 'string') return { name: cleanName(value, fallback) };
	const clean = (jsonValue(value) ?? {}) as Record<string, unknown>;
	return { ...clean, name: cleanName(value?.name, fallback) };
}

/** Metadata the server accepts: string values (others are stringified), at most 1,024 characters. */
function cleanMetadata(metadata: Record<string, unknown>): Record<string, string> {
	const clean: Record<string, string> = {};
	for (const [key, value] of Object.entries(metadata ?? {})) {
		if (value === undefined) continue;
		clean[key] = cutString(typeof value === 'string' ? value : (safeStringify(value) ?? String(value)), 1024);
	}
	return clean;
}

/**
 * A Runwatch client. Create one per process with {@link createRunwatch}; start any number of
 * executions on it.
 */
export class Runwatch {
	readonly #config: ResolvedConfig;
	readonly #link: DeliveryLink;
	#exitFlush: 'idle' | 'flushing' | 'done' = 'idle';
	#closed = false;

	constructor(options: RunwatchOptions = {}) {
		this.#config = resolveConfig(options);
		this.#link = new DeliveryLink(this.#config);
		if (this.#config.flushOnExit) {
			process.on('beforeExit', this.#onBeforeExit);
			process.on('exit', this.#onExit);
		}
	}

	/** The server's base URL this client sends to. */
	get url(): string {
		return this.#config.baseUrl;
	}

	/**
	 * Starts an execution and returns its handle at once (sync): `url` is computed from the base
	 * URL, the create goes out in the background (retried while the server is down; always
	 * before the execution's events). Records `agent-start`.
	 */
	open(options: StartOptions): Execution {
		if (options.id !== undefined && !ID_PATTERN.test(options.id)) {
			throw new TypeError(`execution id "${options.id}" must be 1–64 characters of A-Z a-z 0-9 _ -`);
		}
		if (this.#closed) this.#reopen();
		const id = options.id ?? randomId();
		const body: Record<string, unknown> = { agent: named(options.agent, 'agent') };
		if (options.department !== undefined) body.department = named(options.department, 'department');
		if (options.metadata !== undefined) body.metadata = cleanMetadata(options.metadata);
		const execution = new Execution(this.#link, this.#config, id, JSON.stringify({ ...body, id }));
		const input = jsonValue(options.input);
		execution.event('agent-start', input !== undefined ? { input } : undefined);
		return execution;
	}

	/**
	 * Starts an execution (see {@link open}) and waits up to `startTimeoutMs` (default 2 s) for
	 * the server's answer, so that `url` is the one the server gives. Never rejects because of the
	 * server: when it is down, the handle works the same and delivers once it is back.
	 */
	async start(options: StartOptions): Promise<Execution> {
		const execution = this.open(options);
		const release = this.#link.hold();
		await Promise.race([execution.ready, sleep(this.#config.startTimeoutMs)]);
		release();
		return execution;
	}

	/** An execution opened after `close()`: delivery starts again, and so does the flush on exit. */
	#reopen(): void {
		this.#closed = false;
		this.#exitFlush = 'idle';
		if (this.#config.flushOnExit) {
			process.on('beforeExit', this.#onBeforeExit);
			process.off('exit', this.#onExit);
			process.on('exit', this.#onExit);
		}
	}

	/** Delivery counters across this client's executions. */
	stats(): DeliveryStats {
		return this.#link.stats();
	}

	/**
	 * Waits until every queued event of every execution was delivered: `true`, or `false` when
	 * `timeoutMs` (default `flushTimeoutMs`, 5 s) passed first. Never rejects.
	 */
	flush(options: { timeoutMs?: number } = {}): Promise<boolean> {
		return this.#link.request({ op: 'flush', timeoutMs: options.timeoutMs ?? this.#config.flushTimeoutMs });
	}

	/**
	 * Stops watching for cancels, flushes (see {@link flush}), gives up what is still queued
	 * after `timeoutMs` (counted as dropped) and ends the delivery thread. Later events of these
	 * executions are dropped; an execution started afterwards starts delivery again.
	 */
	async close(options: { timeoutMs?: number } = {}): Promise<void> {
		this.#closed = true;
		process.off('beforeExit', this.#onBeforeExit);
		// The exit handler stays until the close is over: `close(); process.exit()` without
		// awaiting must still deliver.
		await this.#link.close(options.timeoutMs ?? this.#config.flushTimeoutMs);
		if (this.#closed) process.off('exit', this.#onExit);
	}

	/**
	 * The event loop is empty: the script ended without `close()`. Deliver what is queued, once,
	 * within `flushTimeoutMs`.
	 */
	readonly #onBeforeExit = (): void => {
		if (this.#closed || this.#exitFlush !== 'idle') return;
		// Nothing to send: the cancel polls hold nothing up (their sockets are unref'd).
		if (this.stats().queued === 0) return;
		this.#exitFlush = 'flushing';
		void this.close().finally(() => (this.#exitFlush = 'done'));
	};

	/**
	 * `process.exit()` (or the end after `beforeExit`): only this thread has stopped, so the
	 * delivery thread can still send what is queued while this one waits for it, at most
	 * `flushTimeoutMs`. Without the delivery thread nothing can be sent from here.
	 */
	readonly #onExit = (): void => {
		if (this.stats().queued > 0) this.#link.flushAtExit();
	};
}

/** Creates a client. See {@link RunwatchOptions} for the options and their defaults. */
export function createRunwatch(options: RunwatchOptions = {}): Runwatch {
	return new Runwatch(options);
}

export { RunwatchClientError };
