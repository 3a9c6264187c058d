import type { Publisher } from '../ingest/ingest.js';
import type { Store } from '../store/store.js';

/**
 * How often retention looks for executions past their time. An execution is deleted at most
 * this long after it crossed the line: nobody sets a retention of days and minds an hour.
 */
export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;

/**
 * The first run waits this long after startup, so that the server is answering and viewers who
 * lost their connection in a restart have caught up before it starts deleting.
 */
export const RETENTION_FIRST_RUN_DELAY_MS = 5_000;

/**
 * Events deleted per transaction. better-sqlite3 is synchronous: a transaction holds the whole
 * process, ingest and viewers included, until it commits. 2,000 events take a few milliseconds
 * on a small VM (one DELETE of 800,000 took 4 s there), so a request waits at most that long.
 */
export const DELETE_CHUNK_EVENTS = 2_000;

/** Executions read per query of those past the cutoff (a small, indexed read). */
export const RETENTION_LIST_BATCH = 100;

/**
 * Pages given back to the file system per step (`PRAGMA incremental_vacuum`): 500 pages of
 * 4 KiB are 2 MiB, moved and truncated in about as long as a chunk of deletes takes.
 */
export const RECLAIM_PAGES_PER_STEP = 500;

/** After a manual delete, space is reclaimed this much later: several deletes, one pass. */
export const RECLAIM_DELAY_MS = 1_000;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionOptions {
	store: Pick<Store, 'listEndedBefore' | 'deleteEventsChunk' | 'deleteExecution' | 'reclaimSpace'>;
	/** Told of every execution deleted, like a manual delete. */
	publisher: Pick<Publisher, 'publishDeleted'>;
	/**
	 * Deletes executions that ended more than this many days ago. Undefined: none are deleted
	 * (space freed by manual deletes is still given back).
	 */
	days?: number;
	intervalMs?: number;
	firstRunDelayMs?: number;
	chunkEvents?: number;
	reclaimPagesPerStep?: number;
	reclaimDelayMs?: number;
	now?: () => number;
	/** Lets everything else run between two chunks. Default: `setImmediate`, after pending I/O. */
	yieldToLoop?: () => Promise<void>;
	log?: (line: string) => void;
}

export interface RetentionRun {
	executions: number;
	events: number;
}

/**
 * Deletes executions past their retention in the background, and gives the space back, both in
 * small steps with the event loop free in between, so that neither ingest nor viewers stall.
 * One job at a time: a retention run, or a pass of reclaiming space.
 */
export class Retention {
	readonly #store: RetentionOptions['store'];
	readonly #publisher: RetentionOptions['publisher'];
	readonly #days: number | undefined;
	readonly #intervalMs: number;
	readonly #firstRunDelayMs: number;
	readonly #chunkEvents: number;
	readonly #reclaimPages: number;
	readonly #reclaimDelayMs: number;
	readonly #now: () => number;
	readonly #yield: () => Promise<void>;
	readonly #log: (line: string) => void;
	#work: Promise<unknown> = Promise.resolve();
	#pendingRun: Promise<RetentionRun> | undefined;
	#timers: NodeJS.Timeout[] = [];
	#reclaimTimer: NodeJS.Timeout | undefined;
	#stopped = false;

	constructor(options: RetentionOptions) {
		if (options.days !== undefined && !(options.days > 0)) throw new RangeError(`Retention days must be positive, got ${options.days}`);
		this.#store = options.store;
		this.#publisher = options.publisher;
		this.#days = options.days;
		this.#intervalMs = options.intervalMs ?? RETENTION_INTERVAL_MS;
		this.#firstRunDelayMs = options.firstRunDelayMs ?? RETENTION_FIRST_RUN_DELAY_MS;
		this.#chunkEvents = options.chunkEvents ?? DELETE_CHUNK_EVENTS;
		this.#reclaimPages = options.reclaimPagesPerStep ?? RECLAIM_PAGES_PER_STEP;
		this.#reclaimDelayMs = options.reclaimDelayMs ?? RECLAIM_DELAY_MS;
		this.#now = options.now ?? Date.now;
		this.#yield = options.yieldToLoop ?? (() => new Promise((resolve) => setImmediate(resolve)));
		this.#log = options.log ?? ((line) => console.log(`[runwatch] ${line}`));
	}

	/** Runs soon after startup, then every interval; nothing when no retention is set. */
	start(): void {
		if (this.#days === undefined || this.#stopped) return;
		// A failure is logged by #enqueue; the next interval tries again.
		const run = () => void this.runOnce().catch(() => {});
		const first = setTimeout(run, this.#firstRunDelayMs);
		const every = setInterval(run, this.#intervalMs);
		first.unref();
		every.unref();
		this.#timers.push(first, every);
	}

	/**
	 * Deletes every execution that ended before now minus the retention, then gives the space
	 * back. A call while one is queued joins it.
	 */
	runOnce(): Promise<RetentionRun> {
		if (this.#stopped) return Promise.resolve({ executions: 0, events: 0 });
		this.#pendingRun ??= this.#enqueue(async () => {
			this.#pendingRun = undefined;
			const run = await this.#deleteExpired();
			if (run.executions > 0) await this.#reclaim();
			return run;
		}).then((run) => run ?? { executions: 0, events: 0 });
		return this.#pendingRun;
	}

	/** Gives back the space of a manual delete, a little later, in the background. */
	reclaimSoon(): void {
		if (this.#reclaimTimer || this.#stopped) return;
		this.#reclaimTimer = setTimeout(() => {
			this.#reclaimTimer = undefined;
			this.#enqueue(() => this.#reclaim()).catch(() => {}); // logged by #enqueue
		}, this.#reclaimDelayMs);
		this.#reclaimTimer.unref();
	}

	/** Stops between two steps and waits for the current one (before the store closes). */
	async stop(): Promise<void> {
		this.#stopped = true;
		for (const timer of this.#timers) clearTimeout(timer);
		clearTimeout(this.#reclaimTimer);
		this.#timers = [];
		this.#reclaimTimer = undefined;
		await this.#work.catch(() => {});
	}

	/** Runs `job` after the one before; a failure is logged here, and the caller's promise rejects. */
	#enqueue<T>(job: () => Promise<T>): Promise<T | undefined> {
		const result = this.#work.then(() => (this.#stopped ? undefined : job()));
		this.#work = result.catch((error) => console.error('[runwatch] retention failed; it runs again later:', error));
		return result;
	}

	async #deleteExpired(): Promise<RetentionRun> {
		const run: RetentionRun = { executions: 0, events: 0 };
		if (this.#days === undefined) return run;
		const cutoff = new Date(this.#now() - this.#days * DAY_MS).toISOString();
		while (!this.#stopped) {
			const ids = await this.#store.listEndedBefore(cutoff, RETENTION_LIST_BATCH);
			if (ids.length === 0) break;
			for (const id of ids) {
				// The events first, a chunk per transaction; then the execution with whatever
				// arrived meanwhile, in one small transaction.
				for (;;) {
					if (this.#stopped) return run;
					const deleted = await this.#store.deleteEventsChunk(id, this.#chunkEvents);
					run.events += deleted;
					await this.#yield();
					if (deleted < this.#chunkEvents) break;
				}
				if (this.#stopped) return run;
				if (await this.#store.deleteExecution(id)) {
					run.executions++;
					this.#publisher.publishDeleted(id);
				}
				await this.#yield();
			}
		}
		if (run.executions > 0) {
			this.#log(`retention: deleted ${run.executions} execution(s) and ${run.events} event(s) that ended before ${cutoff}`);
		}
		return run;
	}

	async #reclaim(): Promise<void> {
		while (!this.#stopped) {
			if ((await this.#store.reclaimSpace(this.#reclaimPages)) === 0) return;
			await this.#yield();
		}
	}
}
