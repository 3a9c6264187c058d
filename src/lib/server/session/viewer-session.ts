import { MAX_SUBSCRIPTIONS_PER_CONNECTION } from '../../protocol/limits.js';
import { clientMessageSchema, type ClientMessage } from '../../protocol/messages.js';
import type { ErrorCode } from '../../protocol/codes.js';
import { describeZodError, normaliseError, RunwatchError } from '../errors.js';
import type { Hub, Subscription } from '../hub/hub.js';
import type { Sink } from '../hub/sink.js';
import type { Store } from '../store/store.js';

/** A viewer's connection, whatever carries it (a WebSocket, or an SSE stream plus POSTs). */
export interface ViewerChannel extends Sink {
	/** Sends one server message (`subscribed`, `pong`, `error` …). */
	sendMessage(message: object): void;
}

export interface ViewerSessionOptions {
	hub: Hub;
	store: Store;
	/** What this connection may view (the access rules, decided for it when it opened). */
	mayView: (executionId?: string) => boolean;
	maxSubscriptions?: number;
}

/**
 * What a viewer connection does with client messages — subscribe, unsubscribe, ping — the same
 * for every transport. Messages are handled one after another: a subscribe's store read finishes
 * before the next message is looked at, so `subscribe` then `unsubscribe` cannot cross.
 */
export class ViewerSession {
	readonly channel: ViewerChannel;
	readonly #options: ViewerSessionOptions;
	readonly #subscriptions = new Map<string, Subscription>();
	#queue: Promise<void> = Promise.resolve();
	#closed = false;

	constructor(channel: ViewerChannel, options: ViewerSessionOptions) {
		this.channel = channel;
		this.#options = options;
	}

	get subscriptionCount(): number {
		return this.#subscriptions.size;
	}

	/** Takes one message as parsed JSON; anything invalid gets an `error` reply. */
	receive(raw: unknown): Promise<void> {
		this.#queue = this.#queue.then(() => this.#receive(raw));
		return this.#queue;
	}

	sendError(code: ErrorCode, message: string, executionId?: string): void {
		this.channel.sendMessage(executionId ? { type: 'error', code, message, executionId } : { type: 'error', code, message });
	}

	/** Drops every subscription (the connection is gone). */
	close(): void {
		this.#closed = true;
		this.#options.hub.unsubscribeExecutions(this.channel);
		for (const subscription of this.#subscriptions.values()) this.#options.hub.unsubscribe(subscription);
		this.#subscriptions.clear();
	}

	async #receive(raw: unknown): Promise<void> {
		if (this.#closed) return;
		const result = clientMessageSchema.safeParse(raw);
		if (!result.success) {
			const id = (raw as { executionId?: unknown } | null)?.executionId;
			return this.sendError(
				'bad_request',
				`Invalid message: ${describeZodError(result.error)}`,
				typeof id === 'string' ? id.slice(0, 64) : undefined
			);
		}
		try {
			await this.#handle(result.data);
		} catch (error) {
			const e = normaliseError(error);
			this.sendError(e.code, e.message, 'executionId' in result.data ? result.data.executionId : undefined);
		}
	}

	async #handle(message: ClientMessage): Promise<void> {
		const { hub, store } = this.#options;
		switch (message.type) {
			case 'ping':
				return this.channel.sendMessage({ type: 'pong' });
			case 'subscribe-executions':
				if (!this.#options.mayView()) {
					throw new RunwatchError('forbidden', 'A share link covers one execution; the list is not part of it');
				}
				hub.subscribeExecutions(this.channel);
				return this.channel.sendMessage({ type: 'executions-subscribed' });
			case 'unsubscribe-executions':
				return hub.unsubscribeExecutions(this.channel);
			case 'unsubscribe': {
				const subscription = this.#subscriptions.get(message.executionId);
				if (subscription) {
					hub.unsubscribe(subscription);
					this.#subscriptions.delete(message.executionId);
				}
				return;
			}
			case 'subscribe': {
				const { executionId } = message;
				if (!this.#options.mayView(executionId)) {
					throw new RunwatchError('forbidden', `You may not view execution "${executionId}"`);
				}
				const existing = this.#subscriptions.get(executionId);
				const limit = this.#options.maxSubscriptions ?? MAX_SUBSCRIPTIONS_PER_CONNECTION;
				if (!existing && this.#subscriptions.size >= limit) {
					throw new RunwatchError(
						'too_many_subscriptions',
						`A connection may follow at most ${limit} executions; unsubscribe from one first`
					);
				}
				const execution = await store.getExecution(executionId);
				if (!execution) throw new RunwatchError('not_found', `No execution "${executionId}"`);
				if (this.#closed || this.channel.closed) return;
				if (existing) hub.unsubscribe(existing);
				// No `since`: live from now. A `since` past the end (the client saw a different,
				// since-reset database) is clamped, and `subscribed.lastSeq` tells the client so.
				const since = Math.min(message.since ?? execution.lastSeq, execution.lastSeq);
				this.channel.sendMessage({ type: 'subscribed', executionId, lastSeq: execution.lastSeq });
				const subscription = hub.subscribe(this.channel, executionId, since, (notice) => {
					// Deleted: the hub has dropped it; the viewer hears why, once.
					if (this.#subscriptions.get(executionId) === subscription) this.#subscriptions.delete(executionId);
					this.channel.sendMessage(notice);
				});
				this.#subscriptions.set(executionId, subscription);
				return;
			}
		}
	}
}
