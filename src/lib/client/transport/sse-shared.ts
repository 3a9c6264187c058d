import type { ClientMessage, ServerMessage } from '../../protocol/messages.js';
import { createSseTransportFactory, type SseTransportOptions } from './sse.js';
import type { Transport, TransportCallbacks, TransportFactory } from './transport.js';

/**
 * One SSE connection for all tabs of the dashboard.
 *
 * Browsers allow six HTTP/1.1 connections per host across all tabs, and an SSE stream holds one
 * for as long as it is open: seven tabs behind a proxy that forces SSE would starve each other
 * (and their POSTs). So one tab, the leader (whoever holds a Web Lock), keeps the real stream and
 * relays over a BroadcastChannel: other tabs' client messages go up to it, every server message
 * comes down to every tab. Each tab's connection manager already drops events it does not
 * follow or already holds (by seq), so the union of every tab's subscriptions on one server
 * session is enough: a tab that needs older events makes the leader re-subscribe from there,
 * and the others drop the repeats.
 *
 * When the leader tab closes, its lock passes to another tab, which opens a new stream; every
 * tab's transport then reports a close and its manager re-subscribes from its last seq.
 */

const CHANNEL = 'runwatch-sse';
const LOCK = 'runwatch-sse-leader';

type Relay =
	/** A tab's transport wants the stream (answered with `ready` once it is open). */
	| { kind: 'hello'; from: string }
	/** The stream is open: transports waiting in `to` (or every tab) may send. */
	| { kind: 'ready'; to?: string }
	| { kind: 'up'; from: string; message: ClientMessage }
	| { kind: 'down'; message: ServerMessage }
	/**
	 * The stream ended (or the leader changed): every tab's transport closes with `code` (a
	 * WebSocket close code: 4403 when the server no longer lets this browser view) and reconnects.
	 */
	| { kind: 'closed'; reason: string; code?: number }
	/** A tab is going away: its subscriptions can be dropped. */
	| { kind: 'bye'; from: string };

class SharedSseTransport implements Transport {
	readonly name = 'sse' as const;
	readonly id: number;
	readonly #link: SharedLink;
	callbacks: TransportCallbacks | undefined;
	open = false;
	#closed = false;

	constructor(id: number, link: SharedLink) {
		this.id = id;
		this.#link = link;
	}

	connect(callbacks: TransportCallbacks): void {
		if (this.callbacks || this.#closed) throw new Error('A transport connects once; create a new one to reconnect');
		this.callbacks = callbacks;
		this.#link.attach(this);
	}

	send(message: ClientMessage): void {
		if (this.open && !this.#closed) this.#link.up(message);
	}

	/** Called by the link. */
	ready(): void {
		if (this.open || this.#closed) return;
		this.open = true;
		this.callbacks?.onOpen(this.id);
	}

	deliver(message: ServerMessage): void {
		if (this.open && !this.#closed) this.callbacks?.onMessage(this.id, message);
	}

	end(reason: string, code = 1006): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#link.detach(this);
		this.callbacks?.onClose(this.id, { code, reason });
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#link.detach(this);
	}
}

/** Per tab: the BroadcastChannel, the leadership, and (in the leader) the real stream. */
class SharedLink {
	readonly #tabId = Math.random().toString(36).slice(2) + Date.now().toString(36);
	readonly #channel: BroadcastChannel;
	readonly #direct: TransportFactory;
	#local: SharedSseTransport | undefined;
	#leader = false;
	/** Leader only: the real stream, and whether it is open. */
	#stream: Transport | undefined;
	#streamOpen = false;
	#nextStreamId = 0;
	/** Leader only: which tabs follow each execution, and the newest seq relayed for it. */
	readonly #followers = new Map<string, Set<string>>();
	readonly #relayedSeq = new Map<string, number>();
	/** Leader only: tabs following the execution list. */
	readonly #listTabs = new Set<string>();

	constructor(direct: TransportFactory) {
		this.#direct = direct;
		this.#channel = new BroadcastChannel(CHANNEL);
		this.#channel.onmessage = (event: MessageEvent<Relay>) => this.#onRelay(event.data);
		addEventListener('pagehide', () => this.#post({ kind: 'bye', from: this.#tabId }));
		// Waits in line for leadership; holds it until the tab goes away.
		void navigator.locks.request(LOCK, () => {
			this.#becomeLeader();
			return new Promise<never>(() => {});
		});
	}

	attach(transport: SharedSseTransport): void {
		this.#local?.end('replaced');
		this.#local = transport;
		if (this.#leader) {
			this.#ensureStream();
			if (this.#streamOpen) queueMicrotask(() => transport.ready());
		} else {
			this.#post({ kind: 'hello', from: this.#tabId });
		}
	}

	detach(transport: SharedSseTransport): void {
		if (this.#local !== transport) return;
		this.#local = undefined;
		this.#forget(this.#tabId);
	}

	up(message: ClientMessage): void {
		if (this.#leader) this.#fromTab(this.#tabId, message);
		else this.#post({ kind: 'up', from: this.#tabId, message });
	}

	#post(relay: Relay): void {
		this.#channel.postMessage(relay);
	}

	#onRelay(relay: Relay): void {
		switch (relay.kind) {
			case 'hello':
				if (!this.#leader) return;
				this.#ensureStream();
				if (this.#streamOpen) this.#post({ kind: 'ready', to: relay.from });
				return;
			case 'ready':
				if (!relay.to || relay.to === this.#tabId) this.#local?.ready();
				return;
			case 'up':
				if (this.#leader) this.#fromTab(relay.from, relay.message);
				return;
			case 'down':
				this.#local?.deliver(relay.message);
				return;
			case 'closed':
				this.#local?.end(relay.reason, relay.code);
				return;
			case 'bye':
				if (this.#leader) this.#forget(relay.from);
				return;
		}
	}

	#becomeLeader(): void {
		this.#leader = true;
		// Whoever led before is gone; its stream and its session went with it.
		this.#post({ kind: 'closed', reason: 'the tab holding the shared stream went away' });
		if (this.#local) this.#ensureStream();
	}

	#ensureStream(): void {
		if (this.#stream) return;
		const stream = this.#direct.create(++this.#nextStreamId);
		this.#stream = stream;
		this.#streamOpen = false;
		stream.connect({
			onOpen: () => {
				if (stream !== this.#stream) return;
				this.#streamOpen = true;
				this.#post({ kind: 'ready' });
				this.#local?.ready();
			},
			onMessage: (_id, message) => {
				if (stream !== this.#stream) return;
				if (message.type === 'events' || message.type === 'event') {
					const events = message.type === 'events' ? message.events : [message.event];
					const last = events.at(-1)?.seq ?? 0;
					if (last > (this.#relayedSeq.get(message.executionId) ?? 0)) this.#relayedSeq.set(message.executionId, last);
				}
				this.#post({ kind: 'down', message });
				this.#local?.deliver(message);
			},
			onInvalidMessage: () => {},
			onClose: (_id, close) => {
				if (stream !== this.#stream) return;
				this.#stream = undefined;
				this.#streamOpen = false;
				this.#followers.clear();
				this.#relayedSeq.clear();
				this.#listTabs.clear();
				const reason = close.reason || 'the shared stream ended';
				this.#post({ kind: 'closed', reason, code: close.code });
				this.#local?.end(reason, close.code);
			}
		});
	}

	/** Leader: one tab's client message, merged into the one server session. */
	#fromTab(tab: string, message: ClientMessage): void {
		const stream = this.#stream;
		if (!stream || !this.#streamOpen) return;
		if (message.type === 'ping') return stream.send(message);
		if (message.type === 'subscribe-executions') {
			this.#listTabs.add(tab);
			return stream.send(message);
		}
		if (message.type === 'unsubscribe-executions') {
			if (this.#listTabs.delete(tab) && this.#listTabs.size === 0) stream.send(message);
			return;
		}
		const { executionId } = message;
		const tabs = this.#followers.get(executionId) ?? new Set<string>();
		if (message.type === 'unsubscribe') {
			tabs.delete(tab);
			if (tabs.size === 0) {
				this.#followers.delete(executionId);
				this.#relayedSeq.delete(executionId);
				stream.send(message);
			}
			return;
		}
		tabs.add(tab);
		this.#followers.set(executionId, tabs);
		// Never move the session's position past what another tab still needs.
		const relayed = this.#relayedSeq.get(executionId);
		const since =
			relayed === undefined ? message.since : message.since === undefined ? relayed : Math.min(message.since, relayed);
		stream.send(since === undefined ? { type: 'subscribe', executionId } : { type: 'subscribe', executionId, since });
	}

	#forget(tab: string): void {
		if (!this.#leader) return;
		if (this.#listTabs.delete(tab) && this.#listTabs.size === 0 && this.#streamOpen) {
			this.#stream?.send({ type: 'unsubscribe-executions' });
		}
		for (const [executionId, tabs] of this.#followers) {
			if (!tabs.delete(tab) || tabs.size > 0) continue;
			this.#followers.delete(executionId);
			this.#relayedSeq.delete(executionId);
			if (this.#streamOpen) this.#stream?.send({ type: 'unsubscribe', executionId });
		}
	}
}

let link: SharedLink | undefined;

/**
 * SSE shared by every tab of this origin where the browser has BroadcastChannel and Web Locks
 * (secure contexts: https, or localhost); elsewhere each tab has its own stream.
 */
export function createSharedSseTransportFactory(options: SseTransportOptions = {}): TransportFactory {
	const direct = createSseTransportFactory(options);
	const canShare = () =>
		typeof BroadcastChannel !== 'undefined' && typeof navigator !== 'undefined' && navigator.locks !== undefined;
	return {
		name: 'sse',
		supported: () => direct.supported(),
		create(id) {
			if (!canShare()) return direct.create(id);
			link ??= new SharedLink(direct);
			return new SharedSseTransport(id, link);
		}
	};
}
