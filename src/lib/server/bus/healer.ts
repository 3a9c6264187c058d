import type { Execution } from '../../protocol/executions.js';
import { BUS_HEAL_BATCH_IDS, BUS_HEAL_INTERVAL_MS, DEFAULT_LIST_LIMIT } from '../../protocol/limits.js';
import type { Store } from '../store/store.js';
import type { Bus } from './bus.js';

/** What the healer needs of the hub. */
export interface HealTarget {
	followedExecutions(): string[];
	readonly followsList: boolean;
	storedUpTo(executionId: string, lastSeq: number): void;
	notifyWatchers(execution: Execution): void;
	publishExecution(execution: Execution): void;
	publishDeleted(executionId: string): void;
}

export interface HealerOptions {
	bus: Pick<Bus, 'shared' | 'onResync'>;
	hub: HealTarget;
	/** Re-checks live connections' rights (sign-outs, revocations missed while the bus was down). */
	access?: { recheck(): Promise<void> };
	store: Pick<Store, 'kind' | 'getExecutions' | 'listExecutions'>;
	intervalMs?: number;
	/** Followed executions per store query (default BUS_HEAL_BATCH_IDS). */
	batchIds?: number;
	log?: (line: string) => void;
}

/**
 * The store is the source of truth; the bus only carries news, at most once. A node that may
 * have missed some (its bus connection came back, another node could not publish for a while,
 * or a message was simply lost) compares, for every execution someone here follows, the last
 * seq stored with what its viewers were sent, and has the hub catch them up from the store.
 * This also covers the case where the missed events were the last ones: no later event comes
 * along to reveal a gap. Executions gone from the store are announced as deleted; summaries
 * are re-read for the cancel long-poll; on a resync the list's first page is sent again and
 * live connections' rights are checked again (a sign-out or revocation missed meanwhile).
 *
 * It runs on a shared bus, and on a shared store (PostgreSQL) even without one: there other
 * nodes' news reaches this node only through these passes, so each periodic pass then also
 * re-checks access and sends the list the summaries that changed since the last pass. With
 * SQLite and no Redis (one process) nothing is ever lost between the store and the hub.
 */
export class Healer {
	readonly #options: HealerOptions;
	readonly #intervalMs: number;
	readonly #log: (line: string) => void;
	#timer: NodeJS.Timeout | undefined;
	#stopResync: (() => void) | undefined;
	#running: Promise<void> | undefined;
	#again = false;
	#resyncList = false;
	/** No shared bus: list summaries as last sent, so that a pass sends only what changed. */
	readonly #listed = new Map<string, string>();

	constructor(options: HealerOptions) {
		this.#options = options;
		this.#intervalMs = options.intervalMs ?? BUS_HEAL_INTERVAL_MS;
		this.#log = options.log ?? ((line) => console.error(line));
	}

	/** True when news from other nodes reaches this one only through the store. */
	get #storeOnly(): boolean {
		return !this.#options.bus.shared && this.#options.store.kind === 'postgres';
	}

	start(): void {
		if (this.#timer || (!this.#options.bus.shared && !this.#storeOnly)) return;
		this.#timer = setInterval(() => void this.heal(this.#storeOnly), this.#intervalMs);
		this.#timer.unref();
		this.#stopResync = this.#options.bus.onResync(() => void this.heal(true));
	}

	stop(): void {
		clearInterval(this.#timer);
		this.#timer = undefined;
		this.#stopResync?.();
	}

	/**
	 * One pass over everything followed (`list`: the list's first page too). A pass asked for
	 * while one runs starts again once it ends, so news missed mid-pass is not skipped.
	 */
	heal(list: boolean): Promise<void> {
		if (list) this.#resyncList = true;
		if (this.#running) {
			this.#again = true;
			return this.#running;
		}
		this.#running = (async () => {
			try {
				do {
					this.#again = false;
					const withList = this.#resyncList;
					this.#resyncList = false;
					await this.#pass(withList);
				} while (this.#again);
			} finally {
				this.#running = undefined;
			}
		})();
		return this.#running;
	}

	async #pass(list: boolean): Promise<void> {
		const { hub, store } = this.#options;
		const followed = hub.followedExecutions();
		const batch = this.#options.batchIds ?? BUS_HEAL_BATCH_IDS;
		for (let start = 0; start < followed.length; start += batch) {
			const ids = followed.slice(start, start + batch);
			let found: Execution[];
			try {
				found = await store.getExecutions(ids);
			} catch (error) {
				// The store is down: the next pass tries again (readiness reports the store).
				this.#log(`[runwatch] healing ${ids.length} followed executions from the store failed: ${error instanceof Error ? error.message : error}`);
				return;
			}
			const byId = new Map(found.map((execution) => [execution.id, execution]));
			for (const id of ids) {
				const execution = byId.get(id);
				if (!execution) hub.publishDeleted(id);
				else {
					hub.storedUpTo(id, execution.lastSeq);
					hub.notifyWatchers(execution);
				}
			}
		}
		if (list && this.#options.access) {
			try {
				await this.#options.access.recheck();
			} catch (error) {
				this.#log(`[runwatch] re-checking live connections' access failed: ${error instanceof Error ? error.message : error}`);
			}
		}
		if (list && hub.followsList) {
			try {
				const { executions } = await store.listExecutions({ limit: DEFAULT_LIST_LIMIT });
				// Oldest first, so that the newest summary is the last one sent.
				for (const execution of executions.reverse()) {
					if (this.#storeOnly) {
						// Every pass reads the list here: send only the summaries that changed.
						const key = `${execution.updatedAt}|${execution.lastSeq}|${execution.status}`;
						if (this.#listed.get(execution.id) === key) continue;
						this.#listed.set(execution.id, key);
					}
					hub.publishExecution(execution);
				}
				if (this.#listed.size > 4 * DEFAULT_LIST_LIMIT) this.#listed.clear(); // bounded; at worst one page resent
			} catch (error) {
				this.#log(`[runwatch] refreshing the live list from the store failed: ${error instanceof Error ? error.message : error}`);
			}
		}
	}
}
