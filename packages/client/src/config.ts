import { DEFAULTS, SERVER_MAX_BATCH_EVENTS, SERVER_MAX_BODY_BYTES } from './limits.js';
import { RunwatchClientError } from './errors.js';
import { normaliseBaseUrl } from './base-url.cjs';

export { normaliseBaseUrl };

/** Options of {@link createRunwatch}; every one has a default. */
export interface RunwatchOptions {
	/** Base URL of the Runwatch server. Default: `RUNWATCH_URL`, else `http://127.0.0.1:3000`. */
	url?: string;
	/** The ingest token, sent as `Authorization: Bearer`. Default: `RUNWATCH_TOKEN` (on the server: `cat data/ingest-token`). */
	token?: string;
	/** Most events per request. Default 500 (the server takes 1,000). */
	maxBatchEvents?: number;
	/** Most bytes of events per request. Default 1 MiB (the server takes 4 MiB). */
	maxBatchBytes?: number;
	/** How long an event may wait for others to share its request. Default 50 ms. */
	flushIntervalMs?: number;
	/** Most events held in memory (all executions together) while the server is slow or down; newer ones are dropped beyond it. Default 10,000. */
	maxQueueEvents?: number;
	/** Most bytes of events held in memory. Default 16 MiB. */
	maxQueueBytes?: number;
	/** Timeout of one request. Default 10,000 ms. */
	requestTimeoutMs?: number;
	/** How long `flush()`, `close()` and the flush on exit wait for delivery by default. Default 5,000 ms. */
	flushTimeoutMs?: number;
	/** How long `start()` waits for the server's answer before returning a handle with a computed URL. Default 2,000 ms. */
	startTimeoutMs?: number;
	/** Longest delay between retries (full-jitter exponential backoff from 100 ms). Default 5,000 ms. */
	maxRetryDelayMs?: number;
	/** Learn cancel requests by long-polling the server while an execution is open. Default true. */
	watchCancel?: boolean;
	/**
	 * Deliver queued events when the process exits: when it runs out of work (`beforeExit`), and
	 * with the delivery thread also on `process.exit()`, which then waits up to
	 * `flushTimeoutMs`. Default true.
	 */
	flushOnExit?: boolean;
	/**
	 * Batch, serialise and send on a worker thread of the client's own, so that the agent's
	 * thread only copies each event into shared memory. Default true; `false` sends from the
	 * agent's thread (no extra thread, about 10 MB less memory).
	 */
	deliveryThread?: boolean;
	/**
	 * Called when delivery goes wrong; never throws into the agent. Default: one line on stderr
	 * per kind of problem (`runwatch: …`). Pass `() => {}` to stay silent.
	 */
	onError?: (error: RunwatchClientError) => void;
	/** Where `RUNWATCH_URL` and `RUNWATCH_TOKEN` are read from. Default `process.env`. */
	env?: Record<string, string | undefined>;
}

export interface ResolvedConfig {
	baseUrl: string;
	token: string | undefined;
	maxBatchEvents: number;
	maxBatchBytes: number;
	flushIntervalMs: number;
	maxQueueEvents: number;
	maxQueueBytes: number;
	requestTimeoutMs: number;
	flushTimeoutMs: number;
	startTimeoutMs: number;
	maxRetryDelayMs: number;
	watchCancel: boolean;
	flushOnExit: boolean;
	deliveryThread: boolean;
	onError: ((error: RunwatchClientError) => void) | undefined;
}

function positive(name: string, value: number | undefined, fallback: number, max = Infinity): number {
	if (value === undefined) return fallback;
	if (!Number.isFinite(value) || value <= 0 || value > max) {
		throw new RangeError(`${name} must be a positive number${max < Infinity ? ` up to ${max}` : ''}, got ${value}`);
	}
	return value;
}

export function resolveConfig(options: RunwatchOptions = {}): ResolvedConfig {
	const env = options.env ?? process.env;
	return {
		baseUrl: normaliseBaseUrl(options.url ?? (env.RUNWATCH_URL || DEFAULTS.url)),
		token: options.token ?? (env.RUNWATCH_TOKEN || undefined),
		maxBatchEvents: positive('maxBatchEvents', options.maxBatchEvents, DEFAULTS.maxBatchEvents, SERVER_MAX_BATCH_EVENTS),
		maxBatchBytes: positive('maxBatchBytes', options.maxBatchBytes, DEFAULTS.maxBatchBytes, SERVER_MAX_BODY_BYTES / 2),
		flushIntervalMs: positive('flushIntervalMs', options.flushIntervalMs, DEFAULTS.flushIntervalMs),
		maxQueueEvents: positive('maxQueueEvents', options.maxQueueEvents, DEFAULTS.maxQueueEvents),
		maxQueueBytes: positive('maxQueueBytes', options.maxQueueBytes, DEFAULTS.maxQueueBytes),
		requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, DEFAULTS.requestTimeoutMs),
		flushTimeoutMs: positive('flushTimeoutMs', options.flushTimeoutMs, DEFAULTS.flushTimeoutMs),
		startTimeoutMs: positive('startTimeoutMs', options.startTimeoutMs, DEFAULTS.startTimeoutMs),
		maxRetryDelayMs: positive('maxRetryDelayMs', options.maxRetryDelayMs, DEFAULTS.backoffMaxMs),
		watchCancel: options.watchCancel ?? true,
		flushOnExit: options.flushOnExit ?? true,
		deliveryThread: options.deliveryThread ?? true,
		onError: options.onError
	};
}
