/**
 * The delivery side of the client: it reads the records the agent's thread wrote into the ring,
 * keeps one {@link ExecutionSender} per execution (batching, retries, the memory budget), watches
 * for cancel requests, and answers the agent's thread by messages. It runs in a worker thread
 * (`delivery-worker.ts`) or, with `deliveryThread: false`, on the agent's own thread: the same
 * code either way.
 */
import { pollCancel } from './cancel.js';
import type { ResolvedConfig } from './config.js';
import type { RunwatchClientError, RunwatchErrorCode } from './errors.js';
import { DEFAULTS } from './limits.js';
import { QueueBudget } from './queue.js';
import { COUNTERS, CONTROL, RingReader, type FlatData, type RecordSink, type SharedRing } from './ring.js';
import { ExecutionSender, type DeliveryContext } from './sender.js';

/**
 * How often the ring is read while records keep coming: they wait for others to share a
 * request anyway (`flushIntervalMs`). A burst that fills half the ring wakes the reader sooner;
 * after a quiet spell the first record wakes it at once.
 */
export const DRAIN_INTERVAL_MS = 5;

/** What the agent's thread asks; `id` is echoed in the `done` answer. */
export type ToHost =
	| { op: 'flush'; id: number; slot?: number; timeoutMs: number }
	| { op: 'closeExecution'; id: number; slot: number; timeoutMs: number }
	| { op: 'close'; id: number; timeoutMs: number };

/** What the delivery side tells the agent's thread. */
export type FromHost =
	| { op: 'created'; slot: number; url: string | undefined }
	| { op: 'cancel'; slot: number; reason: string | undefined }
	| { op: 'error'; code: RunwatchErrorCode; message: string; executionId: string; status?: number }
	| { op: 'done'; id: number; ok: boolean };

/** The configuration that crosses to the worker (no functions). */
export type HostConfig = Omit<ResolvedConfig, 'onError'>;

interface Entry {
	sender: ExecutionSender;
	forgotten: boolean;
	stopWatching: AbortController;
}

/** The delivery counters, stored in the ring's shared counters so the agent's thread reads them at any time. */
function sharedStats(counters: Float64Array): DeliveryContext['stats'] {
	const stats = {} as DeliveryContext['stats'];
	for (const key of ['sent', 'dropped', 'retries', 'failed'] as const) {
		Object.defineProperty(stats, key, {
			enumerable: true,
			get: () => counters[COUNTERS[key]],
			set: (value: number) => (counters[COUNTERS[key]] = value)
		});
	}
	return stats;
}

export class DeliveryHost implements RecordSink {
	readonly #ring: SharedRing;
	readonly #reader: RingReader;
	readonly #ctx: DeliveryContext;
	readonly #post: (message: FromHost) => void;
	readonly #entries = new Map<number, Entry>();
	#closed = false;
	#closing: Promise<void> | undefined;

	constructor(ring: SharedRing, config: HostConfig, post: (message: FromHost) => void) {
		this.#ring = ring;
		this.#reader = new RingReader(ring);
		this.#post = post;
		this.#ctx = {
			config: { ...config, onError: undefined },
			budget: new QueueBudget(config.maxQueueEvents, config.maxQueueBytes, (events) => (ring.counters[COUNTERS.queued] = events)),
			stats: sharedStats(ring.counters),
			report: (error: RunwatchClientError) => post({ op: 'error', code: error.code, message: error.message, executionId: error.executionId, status: error.status })
		};
	}

	/**
	 * Reads the ring until the client closes: every few milliseconds while records come, else
	 * asleep until the writer wakes it. At exit (the agent's thread asks and blocks) it delivers
	 * what is queued within `flushTimeoutMs`, then says it is done.
	 */
	async run(): Promise<void> {
		const control = this.#ring.control;
		while (!this.#closed) {
			const records = this.#drain();
			if (Atomics.load(control, CONTROL.exitRequested) === 1) return this.#close(this.#ctx.config.flushTimeoutMs);
			await this.#reader.waitForData(records > 0 ? DRAIN_INTERVAL_MS : undefined);
		}
	}

	/** Handles a request of the agent's thread, after the records it wrote before asking. */
	async handle(message: ToHost): Promise<void> {
		this.#drain();
		switch (message.op) {
			case 'flush': {
				const entries = message.slot === undefined ? [...this.#entries.values()] : [this.#entries.get(message.slot)].filter((e) => e !== undefined);
				const results = await Promise.all(entries.map((entry) => entry.sender.flush(message.timeoutMs)));
				return this.#post({ op: 'done', id: message.id, ok: results.every(Boolean) });
			}
			case 'closeExecution': {
				const entry = this.#entries.get(message.slot);
				if (!entry) return this.#post({ op: 'done', id: message.id, ok: true });
				entry.stopWatching.abort();
				const drained = await entry.sender.flush(message.timeoutMs);
				if (!drained) entry.sender.abandon();
				return this.#post({ op: 'done', id: message.id, ok: drained });
			}
			case 'close':
				await this.#close(message.timeoutMs);
				return this.#post({ op: 'done', id: message.id, ok: true });
		}
	}

	#drain(): number {
		try {
			return this.#reader.drain(this);
		} catch (error) {
			// A bug, not bad input: say it once and stop reading rather than loop on it; an exit
			// waiting for this side need not wait any more.
			this.#closed = true;
			Atomics.store(this.#ring.control, CONTROL.exitDone, 1);
			Atomics.notify(this.#ring.control, CONTROL.exitDone);
			this.#post({ op: 'error', code: 'abandoned', message: `delivery stopped: ${(error as Error).message}`, executionId: '' });
			return 0;
		}
	}

	/** Stops watching for cancels, flushes within `timeoutMs`, gives up what is left. */
	#close(timeoutMs: number): Promise<void> {
		// Once: a close() and the process's exit may both ask.
		return (this.#closing ??= this.#closeOnce(timeoutMs));
	}

	async #closeOnce(timeoutMs: number): Promise<void> {
		this.#drain();
		this.#closed = true;
		for (const entry of this.#entries.values()) entry.stopWatching.abort();
		const entries = [...this.#entries.values()];
		await Promise.all(entries.map((entry) => entry.sender.flush(timeoutMs)));
		for (const entry of entries) entry.sender.abandon();
		this.#entries.clear();
		// An exit may be waiting for this (a close() not awaited, then process.exit()): say it is
		// over. Both sides store, then load the other's flag, so one of them sees the other's.
		const control = this.#ring.control;
		Atomics.store(control, CONTROL.hostClosed, 1);
		if (Atomics.load(control, CONTROL.exitRequested) === 1) {
			Atomics.store(control, CONTROL.exitDone, 1);
			Atomics.notify(control, CONTROL.exitDone);
		}
	}

	/** The agent let go of the execution's handle: it is forgotten once its events are delivered. */
	forget(slot: number): void {
		const entry = this.#entries.get(slot);
		if (!entry) return;
		entry.forgotten = true;
		entry.stopWatching.abort();
		if (!entry.sender.pending) this.#entries.delete(slot);
	}

	/** Opens an execution's delivery; a slot already open is left as it is (see `DeliveryLink` taking over). */
	open(slot: number, executionId: string, createBody: string): void {
		if (this.#entries.has(slot)) return;
		const sender = new ExecutionSender(this.#ctx, executionId, JSON.parse(createBody) as Record<string, unknown>);
		const entry: Entry = { sender, forgotten: false, stopWatching: new AbortController() };
		this.#entries.set(slot, entry);
		sender.onIdle = () => {
			if ((entry.forgotten || sender.stopped) && this.#entries.get(slot) === entry) this.#entries.delete(slot);
		};
		void sender.created.then((created) => {
			this.#post({ op: 'created', slot, url: typeof created?.url === 'string' ? created.url : undefined });
			if (created && this.#ctx.config.watchCancel) void this.#watchCancel(slot, entry);
		});
	}

	own(slot: number, essential: boolean, tsMs: number, type: string, data: FlatData | undefined, stepId: string | undefined, parentStepId: string | undefined, ends: boolean): void {
		const entry = this.#entryOf(slot);
		if (!entry) return;
		entry.sender.enqueueOwn(type, data, stepId, parentStepId, essential, tsMs);
		if (ends) entry.stopWatching.abort();
	}

	json(slot: number, essential: boolean, jsonWithoutId: string, ends: boolean): void {
		const entry = this.#entryOf(slot);
		if (!entry) return;
		entry.sender.enqueueJson(jsonWithoutId, essential);
		if (ends) entry.stopWatching.abort();
	}

	#entryOf(slot: number): Entry | undefined {
		const entry = this.#entries.get(slot);
		// Only after close: those events are not sent.
		if (!entry) this.#ctx.stats.dropped++;
		return entry;
	}

	async #watchCancel(slot: number, entry: Entry): Promise<void> {
		if (entry.stopWatching.signal.aborted) return;
		await pollCancel({
			baseUrl: this.#ctx.config.baseUrl,
			token: this.#ctx.config.token,
			executionId: entry.sender.executionId,
			waitSeconds: DEFAULTS.cancelWaitSeconds,
			signal: entry.stopWatching.signal,
			onCancel: (reason) => this.#post({ op: 'cancel', slot, reason })
		});
	}
}
