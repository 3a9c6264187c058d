import { describe, expect, it, vi } from 'vitest';
import type { TransportCallbacks } from './transport.js';
import { createWebSocketTransportFactory, webSocketUrl } from './websocket.js';

/** Just enough of the browser WebSocket for the transport. */
class FakeSocket {
	static readonly CONNECTING = 0;
	static readonly OPEN = 1;
	static readonly CLOSING = 2;
	static readonly CLOSED = 3;
	static last: FakeSocket | undefined;
	readonly url: string;
	readyState = FakeSocket.CONNECTING;
	sent: string[] = [];
	closedWith: number | undefined;
	onopen: (() => void) | null = null;
	onmessage: ((event: { data: unknown }) => void) | null = null;
	onerror: (() => void) | null = null;
	onclose: ((event: { code: number; reason: string }) => void) | null = null;
	constructor(url: string) {
		this.url = url;
		FakeSocket.last = this;
	}
	send(data: string) {
		this.sent.push(data);
	}
	close(code?: number) {
		this.closedWith = code;
		this.readyState = FakeSocket.CLOSING;
	}
}

function callbacks() {
	return {
		onOpen: vi.fn<TransportCallbacks['onOpen']>(),
		onMessage: vi.fn<TransportCallbacks['onMessage']>(),
		onInvalidMessage: vi.fn<TransportCallbacks['onInvalidMessage']>(),
		onClose: vi.fn<TransportCallbacks['onClose']>()
	} satisfies TransportCallbacks;
}

function connect(id = 1) {
	const factory = createWebSocketTransportFactory({
		url: () => 'ws://localhost/api/ws',
		WebSocket: FakeSocket as unknown as typeof WebSocket
	});
	const transport = factory.create(id);
	const cb = callbacks();
	transport.connect(cb);
	const socket = FakeSocket.last!;
	return { transport, cb, socket };
}

describe('webSocketUrl', () => {
	it('uses ws: or wss: by the page protocol, on the same host, and carries a share token', () => {
		expect(webSocketUrl({ protocol: 'http:', host: '127.0.0.1:3000', search: '' })).toBe('ws://127.0.0.1:3000/api/ws');
		expect(webSocketUrl({ protocol: 'https:', host: 'runs.example.com', search: '?token=a b' })).toBe(
			'wss://runs.example.com/api/ws?token=a%20b'
		);
	});
});

describe('WebSocket transport', () => {
	it('reports open, validated messages and close, each with its id', () => {
		const { transport, cb, socket } = connect(7);
		expect(transport.name).toBe('websocket');
		socket.readyState = FakeSocket.OPEN;
		socket.onopen?.();
		expect(cb.onOpen).toHaveBeenCalledWith(7);
		transport.send({ type: 'ping' });
		expect(socket.sent).toEqual(['{"type":"ping"}']);
		socket.onmessage?.({ data: '{"type":"pong"}' });
		expect(cb.onMessage).toHaveBeenCalledWith(7, { type: 'pong' });
		socket.onclose?.({ code: 1001, reason: 'bye' });
		expect(cb.onClose).toHaveBeenCalledWith(7, { code: 1001, reason: 'bye' });
	});

	it('drops frames that are not valid server messages, and carries on', () => {
		const { cb, socket } = connect();
		socket.onmessage?.({ data: 'not json' });
		socket.onmessage?.({ data: '{"type":"event","executionId":"x","event":{"seq":0}}' });
		socket.onmessage?.({ data: new ArrayBuffer(2) });
		expect(cb.onInvalidMessage).toHaveBeenCalledTimes(3);
		expect(cb.onMessage).not.toHaveBeenCalled();
		socket.onmessage?.({ data: '{"type":"subscribed","executionId":"x","lastSeq":3}' });
		expect(cb.onMessage).toHaveBeenCalledTimes(1);
	});

	it('sends nothing before open and fires nothing after close()', () => {
		const { transport, cb, socket } = connect();
		transport.send({ type: 'ping' });
		expect(socket.sent).toEqual([]);
		transport.close();
		expect(socket.closedWith).toBe(1000);
		expect(socket.onclose).toBeNull();
		expect(cb.onClose).not.toHaveBeenCalled();
		transport.close(); // idempotent
	});

	it('reports a failed connect as 1006', () => {
		const { cb, socket } = connect();
		socket.onclose?.({ code: 0, reason: '' });
		expect(cb.onClose).toHaveBeenCalledWith(1, { code: 1006, reason: '' });
	});
});
