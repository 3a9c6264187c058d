import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StoredEvent } from '../protocol/events.js';
import { Connection, type ConnectionStatus } from './connection.js';
import { FakeTarget, FakeTransportFactory, fakeEvents, type FakeTransport } from './testing/fake-transport.js';
import { fallbackPolicy, TRANSPORT_STORAGE_KEY } from './transport/select.js';

const CONNECT_TIMEOUT = 5_000;
const FIRST_MESSAGE_TIMEOUT = 4_000;
const PROBE_INTERVAL = 30_000;
const BACKOFF_MIN = 500;

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

function setup(options: { storage?: MemoryStorage } = {}) {
	const websocket = new FakeTransportFactory('websocket');
	const sse = new FakeTransportFactory('sse');
	const storage = options.storage ?? new MemoryStorage();
	const connection = new Connection({
		transports: [websocket, sse],
		policy: fallbackPolicy({ websocket, sse, storage }),
		connectTimeoutMs: CONNECT_TIMEOUT,
		firstMessageTimeoutMs: FIRST_MESSAGE_TIMEOUT,
		probeIntervalMs: PROBE_INTERVAL,
		// Pings and dead-connection checks have their own tests (connection.spec.ts); keep them out of the way.
		pingIntervalMs: 10 * PROBE_INTERVAL,
		backoffMinMs: BACKOFF_MIN,
		backoffMaxMs: 15_000,
		random: () => 0.5,
		environment: { window: new FakeTarget(), document: new FakeTarget(), navigator: { onLine: true } },
		onDiagnostic: () => {}
	});
	const statuses: ConnectionStatus[] = [];
	connection.onStatus((status) => statuses.push(status));
	return { websocket, sse, storage, connection, statuses };
}

function collect() {
	const received: StoredEvent[] = [];
	return {
		listener: { onEvents: (events: StoredEvent[]) => void received.push(...events) },
		seqs: () => received.map((e) => e.seq)
	};
}

/** Opens `transport` and confirms the subscription to `executionId` (a message: it is healthy now). */
function openAndConfirm(transport: FakeTransport, executionId: string, lastSeq: number): void {
	transport.open();
	transport.receive({ type: 'subscribed', executionId, lastSeq });
}

/** A connection that fell back to SSE (WebSocket failed) and holds events 1..held of run-1. */
function onSse(held = 0) {
	const ctx = setup();
	const run = collect();
	ctx.connection.subscribe('run-1', 0, run.listener);
	ctx.websocket.last.drop(1006);
	const sse = ctx.sse.last;
	openAndConfirm(sse, 'run-1', held);
	if (held > 0) sse.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(1, held) });
	expect(ctx.connection.status).toMatchObject({ state: 'open', transport: 'sse' });
	return { ...ctx, run, sseTransport: sse };
}

beforeEach(() => {
	vi.useFakeTimers();
	vi.setSystemTime(new Date('2025-01-01T00:00:00Z'));
});
afterEach(() => {
	vi.useRealTimers();
});

describe('Connection with the fallback policy', () => {
	it('a WebSocket that fails before it ever worked: the next attempt is SSE, at once, and is remembered', () => {
		const { websocket, sse, storage, connection } = setup();
		connection.subscribe('run-1', 0, collect().listener);
		expect(websocket.created).toHaveLength(1);
		expect(connection.status).toMatchObject({ state: 'connecting', transport: 'websocket' });
		websocket.last.drop(1006, 'upgrade refused');
		// No timer needed: falling back to another transport has no reason to wait.
		expect(sse.created).toHaveLength(1);
		// Never connected yet: still 'connecting' (the page must not say a connection was lost).
		expect(connection.status).toMatchObject({ state: 'connecting', transport: 'sse', nextRetryAt: null });
		expect(storage.getItem(TRANSPORT_STORAGE_KEY)).toBe('sse');
		sse.last.open();
		expect(sse.last.sentOf('subscribe')).toEqual([{ type: 'subscribe', executionId: 'run-1', since: 0 }]);
		sse.last.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 0 });
		expect(connection.status).toMatchObject({ state: 'open', transport: 'sse' });
		expect(websocket.created).toHaveLength(1);
	});

	it('a WebSocket that opens but passes nothing for firstMessageTimeoutMs: closed, SSE at once', () => {
		const { websocket, sse, connection } = setup();
		connection.subscribe('run-1', 0, collect().listener);
		websocket.last.open();
		expect(websocket.last.sentOf('subscribe')).toHaveLength(1);
		vi.advanceTimersByTime(FIRST_MESSAGE_TIMEOUT - 1);
		expect(sse.created).toHaveLength(0);
		expect(websocket.last.closedByClient).toBe(false);
		vi.advanceTimersByTime(1);
		expect(websocket.last.closedByClient).toBe(true);
		expect(sse.created).toHaveLength(1);
		expect(connection.status.transport).toBe('sse');
	});

	it('a WebSocket that answers in time stays, and its silence later is not a fallback', () => {
		const { websocket, sse, connection } = setup();
		connection.subscribe('run-1', 0, collect().listener);
		openAndConfirm(websocket.last, 'run-1', 0);
		vi.advanceTimersByTime(10 * FIRST_MESSAGE_TIMEOUT);
		expect(sse.created).toHaveLength(0);
		expect(websocket.last.closedByClient).toBe(false);
		expect(connection.status).toMatchObject({ state: 'open', transport: 'websocket' });
	});

	it('connect timeout: an attempt that never opens is closed after connectTimeoutMs, and the next one is SSE', () => {
		const { websocket, sse, connection } = setup();
		connection.subscribe('run-1', 0, collect().listener);
		vi.advanceTimersByTime(CONNECT_TIMEOUT - 1);
		expect(websocket.last.closedByClient).toBe(false);
		vi.advanceTimersByTime(1);
		expect(websocket.last.closedByClient).toBe(true);
		// Within the first backoff step at most (full jitter: below twice the minimum).
		vi.advanceTimersByTime(2 * BACKOFF_MIN);
		expect(sse.created).toHaveLength(1);
		expect(websocket.created).toHaveLength(1);
		expect(connection.status.transport).toBe('sse');
	});

	it('once WebSocket has worked, a drop reconnects on WebSocket; three failed attempts in a row fall back', () => {
		const { websocket, sse, connection } = setup();
		connection.subscribe('run-1', 0, collect().listener);
		openAndConfirm(websocket.last, 'run-1', 0);
		// The healthy connection dropping is not a failed attempt; the attempts after it are.
		websocket.last.drop(1006);
		for (let attempt = 1; attempt <= 2; attempt++) {
			// Past the backoff step, short of the connect timeout.
			vi.advanceTimersByTime(4 * BACKOFF_MIN);
			expect(websocket.created).toHaveLength(1 + attempt);
			websocket.last.drop(1006);
			expect(sse.created).toHaveLength(0);
		}
		vi.advanceTimersByTime(8 * BACKOFF_MIN);
		expect(websocket.created).toHaveLength(4);
		websocket.last.drop(1006);
		expect(sse.created).toHaveLength(1); // third failed attempt in a row: SSE, at once
		expect(connection.status.transport).toBe('sse');
	});

	it('starts on SSE when this tab already fell back', () => {
		const storage = new MemoryStorage();
		storage.setItem(TRANSPORT_STORAGE_KEY, 'sse');
		const { websocket, sse, connection } = setup({ storage });
		connection.subscribe('run-1', 0, collect().listener);
		expect(websocket.created).toHaveLength(0);
		expect(sse.created).toHaveLength(1);
	});

	describe('background probe of WebSocket while on SSE', () => {
		it('creates a probe after probeIntervalMs; when it answers, takes over without a gap or a repeat', () => {
			const { websocket, sse, storage, connection, run, sseTransport } = onSse(3);
			const other = collect();
			connection.subscribe('run-2', 10, other.listener);
			sseTransport.receive({ type: 'subscribed', executionId: 'run-2', lastSeq: 12 });
			sseTransport.receive({ type: 'events', executionId: 'run-2', events: fakeEvents(11, 12) });
			expect(websocket.created).toHaveLength(1); // the first, failed attempt

			vi.advanceTimersByTime(PROBE_INTERVAL - 1);
			expect(websocket.created).toHaveLength(1);
			vi.advanceTimersByTime(1);
			expect(websocket.created).toHaveLength(2);
			const probe = websocket.last;
			probe.open();
			expect(probe.sent).toEqual([{ type: 'ping' }]); // nothing is subscribed on a probe before it proves itself
			expect(connection.status).toMatchObject({ state: 'open', transport: 'sse' });

			// SSE keeps delivering while the probe waits for its answer.
			sseTransport.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(4, 5) });
			probe.receive({ type: 'pong' });

			// Took over: every execution subscribed from the last seq held, SSE closed, the choice forgotten.
			expect(probe.sentOf('subscribe')).toEqual([
				{ type: 'subscribe', executionId: 'run-1', since: 5 },
				{ type: 'subscribe', executionId: 'run-2', since: 12 }
			]);
			expect(sseTransport.closedByClient).toBe(true);
			expect(connection.status).toMatchObject({ state: 'open', transport: 'websocket' });
			expect(storage.getItem(TRANSPORT_STORAGE_KEY)).toBeNull();

			// A late event on the closed SSE stream, and an overlapping replay on the WebSocket.
			sseTransport.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(6, 7) });
			probe.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 8 });
			probe.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(4, 8) });
			probe.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(9, 9) });
			probe.receive({ type: 'subscribed', executionId: 'run-2', lastSeq: 12 });
			probe.receive({ type: 'events', executionId: 'run-2', events: fakeEvents(13, 13) });
			expect(run.seqs()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
			expect(other.seqs()).toEqual([11, 12, 13]);
			expect(sse.created).toHaveLength(1);

			// On WebSocket now: no more probes.
			vi.advanceTimersByTime(5 * PROBE_INTERVAL);
			expect(websocket.created).toHaveLength(2);
			expect(probe.closedByClient).toBe(false);
		});

		it('a probe that fails is closed and tried again after another probeIntervalMs; SSE carries on meanwhile', () => {
			const { websocket, sse, connection, run, sseTransport } = onSse(2);
			vi.advanceTimersByTime(PROBE_INTERVAL);
			const first = websocket.last;
			expect(websocket.created).toHaveLength(2);
			first.drop(1006);
			expect(connection.status).toMatchObject({ state: 'open', transport: 'sse' });
			expect(sseTransport.closedByClient).toBe(false);
			sseTransport.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(3, 3) });
			expect(run.seqs()).toEqual([1, 2, 3]);

			vi.advanceTimersByTime(PROBE_INTERVAL - 1);
			expect(websocket.created).toHaveLength(2);
			vi.advanceTimersByTime(1);
			expect(websocket.created).toHaveLength(3);
			expect(sse.created).toHaveLength(1);
		});

		it('a probe that opens but stays silent is given up and retried later', () => {
			const { websocket, connection, sseTransport } = onSse();
			vi.advanceTimersByTime(PROBE_INTERVAL);
			const probe = websocket.last;
			probe.open();
			vi.advanceTimersByTime(CONNECT_TIMEOUT + FIRST_MESSAGE_TIMEOUT);
			expect(probe.closedByClient).toBe(true);
			expect(connection.status.transport).toBe('sse');
			expect(sseTransport.closedByClient).toBe(false);
			// A late answer from the abandoned probe changes nothing.
			probe.receive({ type: 'pong' });
			expect(connection.status.transport).toBe('sse');
			vi.advanceTimersByTime(PROBE_INTERVAL);
			expect(websocket.created).toHaveLength(3);
		});

		it('the SSE connection dropping closes a running probe', () => {
			const { websocket, sse, sseTransport } = onSse();
			vi.advanceTimersByTime(PROBE_INTERVAL);
			const probe = websocket.last;
			sseTransport.drop(1006);
			expect(probe.closedByClient).toBe(true);
			vi.advanceTimersByTime(BACKOFF_MIN * 2);
			expect(sse.created).toHaveLength(2); // still remembered: reconnects on SSE
		});
	});
});

describe('falling back to SSE after a WebSocket handshake outlived the connect timeout (a busy server)', () => {
	// Seen in a CI run of delete.spec.ts: the page stayed "connecting" for more than 10 s. The
	// WebSocket attempt times out, the page falls back to SSE, the stream opens (the session
	// message came through) and the server, busy, answers the subscription after more than
	// firstMessageTimeoutMs. Silence was then taken for a broken path and the attempt restarted
	// at once, still "connecting", throwing away the answer on its way: every 4 s, for ever.
	// Silence is evidence against WebSocket (a proxy that accepts the upgrade and passes
	// nothing); on the transport of last resort it is a slow server: wait for it.
	it('an open SSE stream whose first answer is slow is kept, and goes live when the answer comes', () => {
		const { websocket, sse, connection, statuses } = setup();
		const run = collect();
		connection.subscribe('run-1', 0, run.listener);
		vi.advanceTimersByTime(CONNECT_TIMEOUT); // the handshake outlives the connect timeout
		expect(websocket.last.closedByClient).toBe(true);
		expect(sse.created).toHaveLength(1);
		const stream = sse.last;
		stream.open(); // the session arrived: the path carries data
		expect(stream.sentOf('subscribe')).toEqual([{ type: 'subscribe', executionId: 'run-1', since: 0 }]);

		vi.advanceTimersByTime(FIRST_MESSAGE_TIMEOUT + 1_500);
		expect(stream.closedByClient).toBe(false);
		expect(sse.created).toHaveLength(1);
		expect(connection.status).toMatchObject({ state: 'connecting', transport: 'sse' });

		stream.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 2 });
		stream.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(1, 2) });
		expect(connection.status).toMatchObject({ state: 'open', transport: 'sse' });
		expect(run.seqs()).toEqual([1, 2]);
		// Never in a loop of fresh attempts on the way.
		expect(statuses.map((s) => `${s.state}/${s.transport}`)).toEqual(['connecting/websocket', 'connecting/sse', 'open/sse']);
	});

	it('a stream that stays open and silent is given up by the dead-connection check, then retried after a backoff wait, not in a tight loop', () => {
		const { sse, connection } = setup();
		connection.subscribe('run-1', 0, collect().listener);
		vi.advanceTimersByTime(CONNECT_TIMEOUT);
		sse.last.open();
		// Pings go out meanwhile (the stream counts as open); nothing comes back.
		vi.advanceTimersByTime(20 * PROBE_INTERVAL + 5_000);
		expect(sse.created.length).toBeGreaterThanOrEqual(2);
		// At most one new attempt per dead-connection period, each after a wait: no tight loop.
		expect(sse.created.length).toBeLessThanOrEqual(12);
		expect(connection.status.state).not.toBe('open');
	});
});
