import type { StoredEvent } from '../../protocol/events.js';
import type { ClientMessage, ServerMessage } from '../../protocol/messages.js';
import type { Transport, TransportCallbacks, TransportFactory, TransportName } from '../transport/transport.js';

/** A transport driven by the test: it opens, receives and drops when told to. Test code only. */
export class FakeTransport implements Transport {
	readonly name: TransportName;
	readonly id: number;
	readonly sent: ClientMessage[] = [];
	callbacks: TransportCallbacks | undefined;
	closedByClient = false;

	constructor(id: number, name: TransportName = 'websocket') {
		this.id = id;
		this.name = name;
	}

	connect(callbacks: TransportCallbacks): void {
		this.callbacks = callbacks;
	}
	send(message: ClientMessage): void {
		this.sent.push(message);
	}
	close(): void {
		this.closedByClient = true;
	}

	open(): void {
		this.callbacks?.onOpen(this.id);
	}
	receive(message: ServerMessage): void {
		this.callbacks?.onMessage(this.id, message);
	}
	drop(code = 1006, reason = ''): void {
		this.callbacks?.onClose(this.id, { code, reason });
	}
	/** Messages of one type sent so far. */
	sentOf<T extends ClientMessage['type']>(type: T): Extract<ClientMessage, { type: T }>[] {
		return this.sent.filter((m): m is Extract<ClientMessage, { type: T }> => m.type === type);
	}
}

export class FakeTransportFactory implements TransportFactory {
	readonly name: TransportName;
	readonly created: FakeTransport[] = [];
	isSupported = true;

	constructor(name: TransportName = 'websocket') {
		this.name = name;
	}

	supported(): boolean {
		return this.isSupported;
	}
	create(id: number): FakeTransport {
		const transport = new FakeTransport(id, this.name);
		this.created.push(transport);
		return transport;
	}
	get last(): FakeTransport {
		const transport = this.created[this.created.length - 1];
		if (!transport) throw new Error('no transport created yet');
		return transport;
	}
}

/** A stored event with the given seq. */
export function fakeEvent(seq: number, type = 'log', data: unknown = { level: 'info', message: `event ${seq}` }): StoredEvent {
	return { seq, id: `e${seq}`, type, ts: new Date(Date.UTC(2025, 0, 1, 0, 0, 0, seq)).toISOString(), data };
}

export function fakeEvents(from: number, to: number): StoredEvent[] {
	const events: StoredEvent[] = [];
	for (let seq = from; seq <= to; seq++) events.push(fakeEvent(seq));
	return events;
}

/** A minimal event target that records listeners; `dispatch` calls them. */
export class FakeTarget {
	readonly listeners = new Map<string, Set<() => void>>();
	visibilityState = 'visible';
	addEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void {
		if (typeof listener !== 'function') return;
		const set = this.listeners.get(type) ?? new Set();
		set.add(listener as () => void);
		this.listeners.set(type, set);
	}
	removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void {
		if (typeof listener === 'function') this.listeners.get(type)?.delete(listener as () => void);
	}
	dispatch(type: string): void {
		for (const listener of [...(this.listeners.get(type) ?? [])]) listener();
	}
}
