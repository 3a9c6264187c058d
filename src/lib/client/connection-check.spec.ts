import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_FAST_RETRIES, DEFAULT_FAST_RETRY_MAX_MS } from './backoff.js';
import { Connection, type ConnectionStatus } from './connection.js';
import { FakeTarget, FakeTransportFactory, fakeEvents, type FakeTransport } from './testing/fake-transport.js';
import { fallbackPolicy, TRANSPORT_STORAGE_KEY } from './transport/select.js';
import type { ServerCheck } from './transport/server-check.js';

class MemoryStorage {
	readonly items = new Map<string, string>();
	getItem(key: string): string | null {
		return this.items.get(key) ?? null;
	}
	setItem(key: string, value: string): void {
		this.items.set(key, value);
	}
	removeItem(key: string): void {
		this.items.delete(key);
	}
}

/** A WebSocket + SSE connection whose server check answers what `server.answer` says, when `settle()`d. */
function setup(options: { online?: boolean } = {}) {
	const websocket = new FakeTransportFactory('websocket');
	const sse = new FakeTransportFactory('sse');
	const storage = new MemoryStorage();
	const nav = { onLine: options.online ?? true };
	const server: {
		answer: ServerCheck;
		checks: number;
		pending: ((answer: ServerCheck) => void)[];
		settle(answer?: ServerCheck): Promise<void>;
	} = {
		answer: 'down',
		checks: 0,
		pending: [] as ((answer: ServerCheck) => void)[],
		/** Answers every check asked so far, then lets the promise callbacks run. */
		async settle(answer: ServerCheck = server.answer) {
			for (const resolve of server.pending.splice(0)) resolve(answer);
			await vi.advanceTimersByTimeAsync(0);
		}
	};
	const connection = new Connection({
		transports: [websocket, sse],
		policy: fallbackPolicy({ websocket, sse, storage }),
		random: () => 0.5,
		environment: { window: new FakeTarget(), document: new FakeTarget(), navigator: nav },
		onDiagnostic: () => {},
		checkServer: () => {
			server.checks++;
			return new Promise<ServerCheck>((resolve) => server.pending.push(resolve));
		}
	});
	const statuses: ConnectionStatus[] = [];
	connection.onStatus((status) => statuses.push(status));
	return { websocket, sse, storage, connection, statuses, server, nav };
}

function goLive(transport: FakeTransport, lastSeq = 0): void {
	transport.open();
	transport.receive({ type: 'subscribed', executionId: 'run-1', lastSeq });
}

beforeEach(() => {
	vi.useFakeTimers();
	vi.setSystemTime(new Date('2025-01-01T00:00:00Z'));
});
afterEach(() => {
	vi.useRealTimers();
});

describe('Connection: after a failed WebSocket attempt, one HTTP check decides', () => {
	it('connecting → checking → (HTTP answers) SSE at once: WebSocket fails where HTTP works, a proxy', async () => {
		const { websocket, sse, storage, connection, server } = setup();
		connection.subscribe('run-1', 0, { onEvents: () => {} });
		websocket.last.drop(1006);
		expect(server.checks).toBe(1);
		expect(sse.created).toHaveLength(0);
		expect(connection.status).toMatchObject({ state: 'connecting', transport: 'websocket', nextRetryAt: null });
		await server.settle('up');
		expect(sse.created).toHaveLength(1);
		expect(connection.status).toMatchObject({ state: 'connecting', transport: 'sse' });
		expect(storage.getItem(TRANSPORT_STORAGE_KEY)).toBe('sse');
	});

	it('connecting → checking → (no answer) waiting, then WebSocket again: a server that is down is not a proxy', async () => {
		const { websocket, sse, storage, connection, server } = setup();
		connection.subscribe('run-1', 0, { onEvents: () => {} });
		websocket.last.drop(1006);
		await server.settle('down');
		expect(connection.status).toMatchObject({ state: 'reconnecting', transport: 'websocket' });
		expect(connection.status.nextRetryAt! - Date.now()).toBeLessThan(DEFAULT_FAST_RETRY_MAX_MS);
		vi.advanceTimersByTime(DEFAULT_FAST_RETRY_MAX_MS);
		expect(websocket.created).toHaveLength(2);
		expect(sse.created).toHaveLength(0);
		expect(storage.getItem(TRANSPORT_STORAGE_KEY)).toBeNull();
	});

	it('connecting → checking → (401/403) forbidden, and nothing more is tried', async () => {
		const { websocket, sse, connection, server } = setup();
		connection.subscribe('run-1', 0, { onEvents: () => {} });
		websocket.last.drop(1006);
		await server.settle('forbidden');
		expect(connection.status).toMatchObject({ state: 'forbidden', transport: 'websocket' });
		expect(connection.status.reason).toMatch(/sign-in has ended/);
		vi.advanceTimersByTime(10 * 60_000);
		expect(websocket.created).toHaveLength(1);
		expect(sse.created).toHaveLength(0);
		expect(server.checks).toBe(1);
	});

	it('a server restart: live on WebSocket, down for many attempts, back on WebSocket within a second, nothing lost or twice', async () => {
		const { websocket, sse, storage, connection, server } = setup();
		const seqs: number[] = [];
		connection.subscribe('run-1', 0, { onEvents: (events) => seqs.push(...events.map((e) => e.seq)) });
		goLive(websocket.last, 2);
		websocket.last.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(1, 2) });
		websocket.last.drop(1006); // SIGKILL

		for (let attempt = 0; attempt < DEFAULT_FAST_RETRIES + 5; attempt++) {
			const wait = connection.status.nextRetryAt! - Date.now();
			if (attempt < DEFAULT_FAST_RETRIES) expect(wait).toBeLessThan(DEFAULT_FAST_RETRY_MAX_MS);
			vi.advanceTimersByTime(wait);
			websocket.last.drop(1006); // connection refused
			await server.settle('down');
			expect(connection.status.state).toBe('reconnecting');
		}
		expect(sse.created).toHaveLength(0);
		expect(storage.getItem(TRANSPORT_STORAGE_KEY)).toBeNull();

		// Back: the next attempt works, on WebSocket, from the last seq held.
		vi.advanceTimersByTime(connection.status.nextRetryAt! - Date.now());
		const back = websocket.last;
		back.open();
		expect(back.sentOf('subscribe')).toEqual([{ type: 'subscribe', executionId: 'run-1', since: 2 }]);
		back.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 4 });
		back.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(1, 4) });
		expect(connection.status).toMatchObject({ state: 'open', transport: 'websocket' });
		expect(seqs).toEqual([1, 2, 3, 4]);
		// Fast again after a healthy connection.
		back.drop(1006);
		expect(connection.status.nextRetryAt! - Date.now()).toBeLessThan(DEFAULT_FAST_RETRY_MAX_MS);
	});

	it('a WebSocket that opens and stays silent falls back without asking (the open socket is the evidence)', () => {
		const { websocket, sse, connection, server } = setup();
		connection.subscribe('run-1', 0, { onEvents: () => {} });
		websocket.last.open();
		vi.advanceTimersByTime(4_000);
		expect(server.checks).toBe(0);
		expect(sse.created).toHaveLength(1);
		expect(connection.status.transport).toBe('sse');
	});

	it('an SSE attempt that fails is not checked (the SSE transport asks for itself)', async () => {
		const { websocket, sse, connection, server } = setup();
		connection.subscribe('run-1', 0, { onEvents: () => {} });
		websocket.last.drop(1006);
		await server.settle('up');
		sse.last.drop(1006);
		expect(server.checks).toBe(1);
		expect(connection.status.state).toBe('reconnecting');
	});

	it('no check while the device is offline', () => {
		const { websocket, connection, server, nav } = setup();
		connection.subscribe('run-1', 0, { onEvents: () => {} });
		goLive(websocket.last);
		nav.onLine = false;
		websocket.last.drop(1006);
		expect(connection.status.state).toBe('offline');
		expect(server.checks).toBe(0);
	});

	it('an answer that comes after the connection was let go changes nothing', async () => {
		const { websocket, sse, connection, server } = setup();
		const stop = connection.subscribe('run-1', 0, { onEvents: () => {} });
		websocket.last.drop(1006);
		stop();
		vi.advanceTimersByTime(5_000); // linger: idle
		expect(connection.status.state).toBe('offline');
		await server.settle('forbidden');
		expect(connection.status.state).toBe('offline');
		expect(websocket.created.length + sse.created.length).toBe(1);
	});

	it('reconnectNow while checking does not start a second attempt', () => {
		const { websocket, connection } = setup();
		connection.subscribe('run-1', 0, { onEvents: () => {} });
		websocket.last.drop(1006);
		connection.reconnectNow();
		expect(websocket.created).toHaveLength(1);
	});

	it('once WebSocket has worked, it falls back only after three failures each with HTTP answering', async () => {
		const { websocket, sse, connection, server } = setup();
		connection.subscribe('run-1', 0, { onEvents: () => {} });
		goLive(websocket.last);
		websocket.last.drop(1006);
		for (let attempt = 1; attempt <= 3; attempt++) {
			vi.advanceTimersByTime(connection.status.nextRetryAt! - Date.now());
			expect(websocket.created).toHaveLength(1 + attempt);
			websocket.last.drop(1006);
			await server.settle('up');
		}
		expect(sse.created).toHaveLength(1);
		expect(connection.status.transport).toBe('sse');
	});
});
