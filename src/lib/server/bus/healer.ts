import type { Execution } from '../../protocol/executions.js';
import { BUS_HEAL_INTERVAL_MS, DEFAULT_LIST_LIMIT } from '../../protocol/limits.js';
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
	store: Pick<Store, 'getExecution' | 'listExecutions'>;
	intervalMs?: number;
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
 * Only on a shared bus: in one process, nothing is ever lost between the store and the hub.
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

	constructor(options: HealerOptions) {
		this.#options = options;
		this.#intervalMs = options.intervalMs ?? BUS_HEAL_INTERVAL_MS;
		this.#log = options.log ?? ((line) => console.error(line));
	}

	start(): void {
		if (!this.#options.bus.shared || this.#timer) return;
		this.#timer = setInterval(() => void this.heal(false), this.#intervalMs);
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
		for (const id of hub.followedExecutions()) {
			try {
				const execution = await store.getExecution(id);
				if (!execution) hub.publishDeleted(id);
				else {
					hub.storedUpTo(id, execution.lastSeq);
					hub.notifyWatchers(execution);
				}
			} catch (error) {
				// The store is down: the next pass tries again (readiness reports the store).
				this.#log(`[runwatch] healing ${id} from the store failed: ${error instanceof Error ? error.message : error}`);
				return;
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
				for (const execution of executions.reverse()) hub.publishExecution(execution);
			} catch (error) {
				this.#log(`[runwatch] refreshing the live list from the store failed: ${error instanceof Error ? error.message : error}`);
			}
		}
	}
}
