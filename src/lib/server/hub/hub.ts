import type { StoredEvent } from '../../protocol/events.js';
import type { Execution } from '../../protocol/executions.js';
import { LIVE_FRAME_INTERVAL_MS, MAX_BUFFERED_BYTES, REPLAY_PAGE_EVENTS } from '../../protocol/limits.js';
import type { Store, StoredRow } from '../store/store.js';
import { EventBatch } from './batch.js';
import type { Sink } from './sink.js';

/** A viewer following the execution list: gets whole messages rather than event batches. */
export interface ListSink {
	sendMessage(message: object): void;
	readonly closed: boolean;
}

export interface HubOptions {
	store: Store;
	/** Send-buffer size above which a viewer stops getting live pushes and catches up later. */
	maxBufferedBytes?: number;
	/** Events per replay read (and frame). */
	replayPageEvents?: number;
	/** How often a stalled viewer's buffer is checked while waiting for it to drain. */
	drainPollMs?: number;
	/** Shortest time between two live frames of one execution (LIVE_FRAME_INTERVAL_MS). */
	liveFrameIntervalMs?: number;
}

type Mode = 'catching-up' | 'live' | 'closed';

/** What every viewer of a deleted execution is told, once, before its subscription is dropped. */
export interface DeletedNotice {
	type: 'error';
	code: 'not_found';
	executionId: string;
	message: string;
}

export function deletedNotice(executionId: string): DeletedNotice {
	return { type: 'error', code: 'not_found', executionId, message: `Execution "${executionId}" was deleted` };
}

/** One viewer following one execution. */
export class Subscription {
	readonly sink: Sink;
	readonly executionId: string;
	/** Highest seq this viewer has been sent. Everything is delivered in order from here. */
	lastSeq: number;
	mode: Mode = 'catching-up';
	/** True while a catch-up loop is running for it (at most one at a time). */
	replaying = false;
	/** Told when the execution is deleted; the hub has dropped the subscription by then. */
	readonly onDeleted: ((notice: DeletedNotice) => void) | undefined;

	constructor(sink: Sink, executionId: string, since: number, onDeleted?: (notice: DeletedNotice) => void) {
		this.sink = sink;
		this.executionId = executionId;
		this.lastSeq = since;
		this.onDeleted = onDeleted;
	}
}

interface Topic {
	readonly executionId: string;
	readonly subscriptions: Set<Subscription>;
	/** Highest seq published on this node so far (a catch-up may go live only past it). */
	publishedSeq: number;
	/** Events published since the last frame (as their stored JSON), flushed together. */
	pending: StoredRow[];
	/** When the last live frame went out (performance.now()). */
	lastFrameAt: number;
	/** Set while `pending` waits for the frame interval to pass. */
	timer: NodeJS.Timeout | undefined;
}

/**
 * Fans committed events out to viewers.
 *
 * Each subscription carries the last seq it was sent, and only ever sends the next one. A new
 * subscription (or one that fell behind: a gap, or a send buffer over its limit) catches up
 * from the store page by page and joins the live stream once it has read past everything
 * published; live events that overlap what it read are cut by seq. So replay and live join with
 * no gap and no duplicate, whatever arrives during the replay and in whatever order events reach
 * this node.
 *
 * Live events are batched: everything published for an execution in one turn of the event loop
 * goes out as one frame, serialised once for all its viewers, and frames of one execution are at
 * least LIVE_FRAME_INTERVAL_MS apart (events arriving sooner wait and join the next frame).
 */
export class Hub {
	readonly #store: Store;
	readonly #maxBufferedBytes: number;
	readonly #replayPage: number;
	readonly #drainPollMs: number;
	readonly #frameIntervalMs: number;
	readonly #topics = new Map<string, Topic>();
	readonly #dirty = new Set<Topic>();
	readonly #listSinks = new Set<ListSink>();
	readonly #watchers = new Map<string, Set<(execution: Execution) => void>>();
	/** Execution summaries changed this tick, newest wins: one message per execution per tick. */
	readonly #changedExecutions = new Map<string, Execution>();
	#flushScheduled = false;
	#closed = false;

	constructor(options: HubOptions) {
		this.#store = options.store;
		this.#maxBufferedBytes = options.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
		this.#replayPage = options.replayPageEvents ?? REPLAY_PAGE_EVENTS;
		this.#drainPollMs = options.drainPollMs ?? 25;
		this.#frameIntervalMs = options.liveFrameIntervalMs ?? LIVE_FRAME_INTERVAL_MS;
	}

	/**
	 * Starts following `executionId` from `since` (events with seq > since are sent). When the
	 * execution is deleted, the subscription is dropped and `onDeleted` says so to its owner,
	 * which tells the viewer (the hub's sinks only carry events).
	 */
	subscribe(sink: Sink, executionId: string, since: number, onDeleted?: (notice: DeletedNotice) => void): Subscription {
		let topic = this.#topics.get(executionId);
		if (!topic) {
			topic = { executionId, subscriptions: new Set(), publishedSeq: 0, pending: [], lastFrameAt: -Infinity, timer: undefined };
			this.#topics.set(executionId, topic);
		}
		const subscription = new Subscription(sink, executionId, since, onDeleted);
		topic.subscriptions.add(subscription);
		void this.#catchUp(subscription);
		return subscription;
	}

	unsubscribe(subscription: Subscription): void {
		subscription.mode = 'closed';
		const topic = this.#topics.get(subscription.executionId);
		if (!topic) return;
		topic.subscriptions.delete(subscription);
		if (topic.subscriptions.size === 0) this.#dropTopic(topic);
	}

	/** Hands over events that are committed, ascending by seq. Sent on the next tick, or LIVE_FRAME_INTERVAL_MS after the last frame. */
	publish(executionId: string, events: readonly StoredEvent[]): void {
		if (!this.#topics.has(executionId) || events.length === 0 || this.#closed) return;
		this.publishRows(
			executionId,
			events.map((event) => ({ seq: event.seq, json: JSON.stringify(event) }))
		);
	}

	/**
	 * Like `publish`, with the events as the JSON text the store committed (what replay reads):
	 * live frames are then built from that text, without serialising the events again.
	 */
	publishRows(executionId: string, rows: readonly StoredRow[]): void {
		const topic = this.#topics.get(executionId);
		if (!topic || rows.length === 0 || this.#closed) return;
		for (const row of rows) {
			topic.pending.push(row);
			if (row.seq > topic.publishedSeq) topic.publishedSeq = row.seq;
		}
		if (topic.timer || this.#dirty.has(topic)) return; // a frame is coming
		const wait = topic.lastFrameAt + this.#frameIntervalMs - performance.now();
		if (wait <= 0) return this.#markDirty(topic);
		topic.timer = setTimeout(() => {
			topic.timer = undefined;
			this.#markDirty(topic);
		}, wait);
	}

	#markDirty(topic: Topic): void {
		this.#dirty.add(topic);
		this.#scheduleFlush();
	}

	#dropTopic(topic: Topic): void {
		this.#topics.delete(topic.executionId);
		this.#dirty.delete(topic);
		clearTimeout(topic.timer);
		topic.timer = undefined;
	}

	#scheduleFlush(): void {
		if (this.#flushScheduled) return;
		this.#flushScheduled = true;
		setImmediate(() => this.#flush());
	}

	/** Starts sending `execution` messages (new executions, summary changes) to `sink`. */
	subscribeExecutions(sink: ListSink): void {
		this.#listSinks.add(sink);
	}

	unsubscribeExecutions(sink: ListSink): void {
		this.#listSinks.delete(sink);
	}

	/**
	 * Calls `listener` with every summary change of one execution (the cancel long-poll waits on
	 * this) until the returned function is called or the hub closes.
	 */
	watchExecution(executionId: string, listener: (execution: Execution) => void): () => void {
		let listeners = this.#watchers.get(executionId);
		if (!listeners) this.#watchers.set(executionId, (listeners = new Set()));
		listeners.add(listener);
		return () => {
			listeners.delete(listener);
			if (listeners.size === 0 && this.#watchers.get(executionId) === listeners) this.#watchers.delete(executionId);
		};
	}

	/** An execution was created or its summary changed (after commit). Sent on the next tick. */
	publishExecution(execution: Execution): void {
		if (this.#closed) return;
		const watchers = this.#watchers.get(execution.id);
		if (watchers) for (const listener of [...watchers]) listener(execution);
		if (this.#listSinks.size === 0) return;
		this.#changedExecutions.set(execution.id, execution);
		this.#scheduleFlush();
	}

	/**
	 * The execution is gone (deleted, after commit): every subscription to it is dropped, its
	 * owner told with `deletedNotice`, and the list's followers get `execution-deleted` at once,
	 * after any summary of it sent earlier and with any not yet sent dropped. Events published
	 * for it and not yet sent are dropped too.
	 */
	publishDeleted(executionId: string): void {
		if (this.#closed) return;
		const topic = this.#topics.get(executionId);
		if (topic) {
			this.#dropTopic(topic);
			const notice = deletedNotice(executionId);
			for (const subscription of topic.subscriptions) {
				subscription.mode = 'closed';
				subscription.onDeleted?.(notice);
			}
		}
		this.#changedExecutions.delete(executionId);
		const message = { type: 'execution-deleted', executionId };
		for (const sink of this.#listSinks) {
			if (sink.closed) this.#listSinks.delete(sink);
			else sink.sendMessage(message);
		}
	}

	/**
	 * The store holds this execution's events up to `lastSeq` (another node announced a batch
	 * too big to carry, or a periodic check read it): every live viewer behind that catches up
	 * from the store. Viewers already there, or catching up, are left alone; seq cuts anything
	 * that then also arrives live.
	 */
	storedUpTo(executionId: string, lastSeq: number): void {
		const topic = this.#topics.get(executionId);
		if (!topic || this.#closed) return;
		if (lastSeq > topic.publishedSeq) topic.publishedSeq = lastSeq;
		for (const subscription of topic.subscriptions) {
			if (subscription.mode === 'live' && subscription.lastSeq < lastSeq) void this.#catchUp(subscription);
		}
	}

	/** Executions someone on this node follows (viewers or a cancel long-poll): what healing checks. */
	followedExecutions(): string[] {
		const ids = new Set(this.#topics.keys());
		for (const id of this.#watchers.keys()) ids.add(id);
		return [...ids];
	}

	/** Whether a viewer on this node follows the execution's events (news of others is dropped). */
	follows(executionId: string): boolean {
		return this.#topics.has(executionId);
	}

	/** Whether anyone on this node follows the execution list. */
	get followsList(): boolean {
		return this.#listSinks.size > 0;
	}

	/**
	 * Tells this execution's watchers (the cancel long-poll) its summary as stored, without
	 * sending it to the list: what healing does when a summary change may have been missed.
	 */
	notifyWatchers(execution: Execution): void {
		if (this.#closed) return;
		const watchers = this.#watchers.get(execution.id);
		if (watchers) for (const listener of [...watchers]) listener(execution);
	}

	/** Counts for health checks and tests. */
	stats(): { topics: number; subscriptions: number } {
		let subscriptions = 0;
		for (const topic of this.#topics.values()) subscriptions += topic.subscriptions.size;
		return { topics: this.#topics.size, subscriptions };
	}

	close(): void {
		this.#closed = true;
		for (const topic of this.#topics.values()) {
			clearTimeout(topic.timer);
			for (const subscription of topic.subscriptions) subscription.mode = 'closed';
		}
		this.#topics.clear();
		this.#dirty.clear();
		this.#listSinks.clear();
		this.#watchers.clear();
		this.#changedExecutions.clear();
	}

	#flush(): void {
		this.#flushScheduled = false;
		const now = performance.now();
		for (const topic of this.#dirty) {
			const runs = contiguousRuns(topic.pending);
			topic.pending = [];
			topic.lastFrameAt = now;
			for (const run of runs) {
				const batch = EventBatch.fromJsonRows(topic.executionId, run);
				for (const subscription of topic.subscriptions) this.#deliverLive(subscription, batch);
			}
		}
		this.#dirty.clear();
		for (const execution of this.#changedExecutions.values()) {
			const message = { type: 'execution', execution };
			for (const sink of this.#listSinks) {
				if (sink.closed) this.#listSinks.delete(sink);
				else sink.sendMessage(message);
			}
		}
		this.#changedExecutions.clear();
	}

	#deliverLive(subscription: Subscription, batch: EventBatch): void {
		if (subscription.mode !== 'live') return; // a running catch-up will read these from the store
		const { sink } = subscription;
		if (sink.closed) return this.unsubscribe(subscription);
		if (batch.lastSeq <= subscription.lastSeq) return;
		if (batch.firstSeq > subscription.lastSeq + 1 || sink.bufferedAmount > this.#maxBufferedBytes) {
			// A gap (events reached this node out of order) or a viewer that cannot keep up:
			// either way the store has everything, so read it from there once the viewer can take it.
			void this.#catchUp(subscription);
			return;
		}
		const slice = batch.after(subscription.lastSeq);
		sink.deliver(slice);
		subscription.lastSeq = slice.lastSeq;
	}

	async #catchUp(subscription: Subscription): Promise<void> {
		if (subscription.replaying || subscription.mode === 'closed') return;
		subscription.replaying = true;
		subscription.mode = 'catching-up';
		const { sink, executionId } = subscription;
		try {
			while (subscription.mode === 'catching-up') {
				if (sink.closed) return this.unsubscribe(subscription);
				if (sink.bufferedAmount > this.#maxBufferedBytes) {
					await this.#waitForDrain(sink);
					continue;
				}
				const rows = await this.#store.readEventsJson(executionId, subscription.lastSeq, this.#replayPage);
				if (subscription.mode !== 'catching-up') return;
				if (rows.length > 0) {
					const batch = EventBatch.fromJsonRows(executionId, rows);
					sink.deliver(batch);
					subscription.lastSeq = batch.lastSeq;
				}
				const topic = this.#topics.get(executionId);
				// Go live only when the store had nothing more *and* we hold everything published
				// here, with no await in between: a publish cannot slip through the gap.
				if (rows.length < this.#replayPage && (!topic || subscription.lastSeq >= topic.publishedSeq)) {
					subscription.mode = 'live';
				}
			}
		} catch (error) {
			console.error(`[runwatch] replay of ${executionId} failed; retrying in 1 s:`, error);
			setTimeout(() => {
				if (subscription.mode === 'catching-up') void this.#catchUp(subscription);
			}, 1000).unref();
		} finally {
			subscription.replaying = false;
		}
	}

	async #waitForDrain(sink: Sink): Promise<void> {
		const lowWater = this.#maxBufferedBytes / 2;
		while (!sink.closed && sink.bufferedAmount > lowWater && !this.#closed) {
			await new Promise((resolve) => setTimeout(resolve, this.#drainPollMs));
		}
	}
}

/** Sorts by seq, drops repeats, and splits where seqs are not consecutive. */
export function contiguousRuns<T extends { seq: number }>(events: T[]): T[][] {
	if (events.length === 0) return [];
	let sorted = true;
	for (let i = 1; i < events.length; i++) {
		if (events[i]!.seq <= events[i - 1]!.seq) {
			sorted = false;
			break;
		}
	}
	const list = sorted ? events : [...events].sort((a, b) => a.seq - b.seq);
	const runs: T[][] = [];
	let run: T[] = [list[0]!];
	for (let i = 1; i < list.length; i++) {
		const event = list[i]!;
		const previous = run.at(-1)!;
		if (event.seq === previous.seq) continue;
		if (event.seq === previous.seq + 1) run.push(event);
		else {
			runs.push(run);
			run = [event];
		}
	}
	runs.push(run);
	return runs;
}
