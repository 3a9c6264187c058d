import type { ClientMessage } from '../protocol/messages.js';
import { ExecutionListFeed, type ExecutionsListener } from './execution-list-feed.js';
import { FollowedExecutions, type ExecutionListener } from './followed-executions.js';

export interface ClaimsOptions {
	/** How long the connection stays after the last listener leaves. */
	lingerMs: number;
	/** Someone started following something; `wasIdle` when nobody followed anything before. */
	claimed: (wasIdle: boolean) => void;
	/** Nobody has followed anything for `lingerMs`: the connection may go. */
	released: () => void;
}

/** `fn`, callable any number of times, run the first time only. */
function once(fn: () => void): () => void {
	let done = false;
	return () => {
		if (done) return;
		done = true;
		fn();
	};
}

/**
 * What uses the connection: the executions followed and the execution list feed, and the linger
 * that keeps the connection `lingerMs` after the last listener leaves, so that navigating between
 * pages reuses it. `send` puts a message on the wire, or returns false while nothing is open.
 */
export class Claims {
	readonly followed: FollowedExecutions;
	readonly list: ExecutionListFeed;
	readonly #send: (message: ClientMessage) => boolean;
	readonly #options: ClaimsOptions;
	#lingerTimer: ReturnType<typeof setTimeout> | undefined;

	constructor(send: (message: ClientMessage) => boolean, options: ClaimsOptions) {
		this.#send = send;
		this.#options = options;
		this.followed = new FollowedExecutions(send);
		this.list = new ExecutionListFeed(send);
	}

	/** Anything followed at all. */
	get active(): boolean {
		return this.followed.size > 0 || this.list.size > 0;
	}

	follow(executionId: string, since: number | undefined, listener: ExecutionListener): () => void {
		const wasIdle = this.#claim();
		const entry = this.followed.add(executionId, since, listener);
		this.#options.claimed(wasIdle);
		return once(() => {
			if (!this.followed.remove(executionId, entry)) return;
			this.#send({ type: 'unsubscribe', executionId });
			this.#lingerIfIdle();
		});
	}

	followList(listener: ExecutionsListener): () => void {
		const wasIdle = this.#claim();
		this.list.add(listener);
		this.#options.claimed(wasIdle);
		return once(() => {
			if (this.list.remove(listener)) this.#lingerIfIdle();
		});
	}

	/** After (re)connecting or switching transport: everything followed, from the last seq held. */
	resubscribeAll(): void {
		this.followed.resubscribeAll();
		this.list.resubscribe();
	}

	/** A new use of the connection: cancels a pending linger. Returns whether it was idle. */
	#claim(): boolean {
		clearTimeout(this.#lingerTimer);
		this.#lingerTimer = undefined;
		return !this.active;
	}

	#lingerIfIdle(): void {
		if (this.active) return;
		clearTimeout(this.#lingerTimer);
		this.#lingerTimer = setTimeout(() => {
			this.#lingerTimer = undefined;
			this.#options.released();
		}, this.#options.lingerMs);
	}
}
