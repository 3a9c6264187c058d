import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StoredEvent } from '../protocol/events.js';
import { DEFAULT_FAST_RETRIES } from './backoff.js';
import { Connection, type ConnectionStatus } from './connection.js';
import { FakeTarget, FakeTransportFactory, fakeEvent, fakeEvents } from './testing/fake-transport.js';

const PING = 20_000;

function setup(options: { online?: boolean } = {}) {
	const factory = new FakeTransportFactory();
	const win = new FakeTarget();
	const doc = new FakeTarget();
	const nav = { onLine: options.online ?? true };
	const diagnostics: string[] = [];
	const connection = new Connection({
		transports: [factory],
		pingIntervalMs: PING,
		// These tests drive the state machine by hand and often leave an open transport silent;
		// the attempt timeouts have their own tests (connection-fallback.spec.ts).
		connectTimeoutMs: 2 * PING,
		firstMessageTimeoutMs: 100 * PING,
		lingerMs: 5_000,
		backoffMinMs: 500,
		backoffMaxMs: 15_000,
		random: () => 0.5,
		environment: { window: win, document: doc, navigator: nav },
		onDiagnostic: (message) => diagnostics.push(message)
	});
	const statuses: ConnectionStatus[] = [];
	connection.onStatus((status) => statuses.push(status));
	return { factory, connection, win, doc, nav, statuses, diagnostics };
}

function collect() {
	const received: StoredEvent[] = [];
	const calls: number[][] = [];
	return {
		received,
		calls,
		listener: {
			onEvents(events: StoredEvent[]) {
				calls.push(events.map((e) => e.seq));
				received.push(...events);
			}
		},
		seqs: () => received.map((e) => e.seq)
	};
}

beforeEach(() => {
	vi.useFakeTimers();
	vi.setSystemTime(new Date('2025-01-01T00:00:00Z'));
});
afterEach(() => {
	vi.useRealTimers();
});

describe('Connection', () => {
	it('opens nothing until something is followed', () => {
		const { factory, connection } = setup();
		vi.advanceTimersByTime(60_000);
		expect(factory.created).toHaveLength(0);
		expect(connection.status.state).toBe('connecting');
	});

	it('connects on the first subscribe and subscribes with since once open', () => {
		const { factory, connection, statuses } = setup();
		connection.subscribe('run-1', 7, collect().listener);
		expect(factory.created).toHaveLength(1);
		expect(factory.last.sent).toEqual([]); // nothing sent before open
		factory.last.open();
		// Open is not live yet: only a server message proves the connection carries anything.
		expect(connection.status.state).toBe('connecting');
		expect(factory.last.sentOf('subscribe')).toEqual([{ type: 'subscribe', executionId: 'run-1', since: 7 }]);
		factory.last.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 7 });
		expect(connection.status).toMatchObject({ state: 'open', transport: 'websocket', nextRetryAt: null });
		// The first emission only adds the transport name; then open. Nothing is emitted twice.
		expect(statuses.map((s) => [s.state, s.transport])).toEqual([
			['connecting', 'websocket'],
			['open', 'websocket']
		]);
		connection.reconnectNow();
		factory.last.receive({ type: 'pong' });
		expect(statuses).toHaveLength(2);
	});

	it('delivers in order, drops duplicates, and resubscribes on a gap instead of skipping', () => {
		const { factory, connection } = setup();
		const sink = collect();
		connection.subscribe('run-1', 2, sink.listener);
		const t = factory.last;
		t.open();
		t.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 4 });
		t.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(1, 4) });
		expect(sink.seqs()).toEqual([3, 4]);
		t.receive({ type: 'event', executionId: 'run-1', event: fakeEvent(4) });
		expect(sink.seqs()).toEqual([3, 4]);

		// 5 is lost: 6 and 7 must not be applied, and we ask again from 4.
		t.receive({ type: 'events', executionId: 'run-1', events: [fakeEvent(6), fakeEvent(7)] });
		expect(sink.seqs()).toEqual([3, 4]);
		expect(t.sentOf('subscribe').at(-1)).toEqual({ type: 'subscribe', executionId: 'run-1', since: 4 });
		// More of the old stream before the server answers: dropped, and no second resubscribe.
		t.receive({ type: 'event', executionId: 'run-1', event: fakeEvent(8) });
		expect(t.sentOf('subscribe')).toHaveLength(2);

		t.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 8 });
		t.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(5, 8) });
		expect(sink.seqs()).toEqual([3, 4, 5, 6, 7, 8]);
	});

	it('reconnects with backoff and resubscribes from the last seq it holds', () => {
		const { factory, connection } = setup();
		const sink = collect();
		connection.subscribe('run-1', 0, sink.listener);
		factory.last.open();
		factory.last.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 3 });
		factory.last.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(1, 3) });

		factory.last.drop(1006);
		expect(connection.status.state).toBe('reconnecting');
		// random 0.5, step 0: 500 + floor(0.5 · 500)
		expect(connection.status.nextRetryAt).toBe(Date.now() + 750);
		expect(factory.created).toHaveLength(1);
		vi.advanceTimersByTime(749);
		expect(factory.created).toHaveLength(1);
		vi.advanceTimersByTime(1);
		expect(factory.created).toHaveLength(2);
		expect(connection.status).toMatchObject({ state: 'reconnecting', nextRetryAt: null });

		factory.last.open();
		expect(factory.last.sentOf('subscribe')).toEqual([{ type: 'subscribe', executionId: 'run-1', since: 3 }]);
		factory.last.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 5 });
		expect(connection.status.state).toBe('open');
		factory.last.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(4, 5) });
		expect(sink.seqs()).toEqual([1, 2, 3, 4, 5]);
	});

	it('retries within a second at first, backs off further after that, and resets after a healthy connection', () => {
		const { factory, connection } = setup();
		connection.subscribe('run-1', 0, collect().listener);
		const delays: number[] = [];
		for (let i = 0; i < DEFAULT_FAST_RETRIES + 3; i++) {
			factory.last.drop(1006);
			delays.push(connection.status.nextRetryAt! - Date.now());
			vi.advanceTimersByTime(delays.at(-1)!);
		}
		// random 0.5: 500 + 0.5 · (1000 − 500) while fast, then backoff() from its second step.
		expect(delays).toEqual([...Array<number>(DEFAULT_FAST_RETRIES).fill(750), 1000, 1500, 2500]);
		factory.last.open();
		factory.last.receive({ type: 'pong' });
		factory.last.drop(1006);
		expect(connection.status.nextRetryAt! - Date.now()).toBe(750);
	});

	it('comes back at once after 1001 (server restart)', () => {
		const { factory, connection } = setup();
		connection.subscribe('run-1', 0, collect().listener);
		factory.last.open();
		factory.last.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 0 });
		vi.advanceTimersByTime(5_000);
		factory.last.drop(1001, 'server shutting down');
		expect(factory.created).toHaveLength(2);
		expect(connection.status).toMatchObject({ state: 'reconnecting', nextRetryAt: null });
	});

	it('stays forbidden after 4403 until asked to reconnect', () => {
		const { factory, connection } = setup();
		connection.subscribe('run-1', 0, collect().listener);
		factory.last.open();
		factory.last.drop(4403);
		expect(connection.status.state).toBe('forbidden');
		expect(connection.status.reason).toMatch(/sign-in has ended/);
		vi.advanceTimersByTime(120_000);
		expect(factory.created).toHaveLength(1);
		connection.reconnectNow();
		expect(factory.created).toHaveLength(2);
	});

	it('ignores late callbacks from a transport it already replaced', () => {
		const { factory, connection } = setup();
		const sink = collect();
		connection.subscribe('run-1', 0, sink.listener);
		const old = factory.last;
		old.open();
		old.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 0 });
		old.drop(1006);
		vi.advanceTimersByTime(1_000);
		const fresh = factory.last;
		expect(fresh).not.toBe(old);
		fresh.open();
		fresh.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 0 });
		old.receive({ type: 'event', executionId: 'run-1', event: fakeEvent(1) });
		old.drop(1006);
		expect(sink.seqs()).toEqual([]);
		expect(connection.status.state).toBe('open');
		expect(factory.created).toHaveLength(2);
	});

	it('pings every interval and reconnects when nothing arrives for two intervals', () => {
		const { factory, connection } = setup();
		connection.subscribe('run-1', 0, collect().listener);
		const t = factory.last;
		t.open();
		vi.advanceTimersByTime(PING);
		expect(t.sentOf('ping')).toHaveLength(1);
		t.receive({ type: 'pong' });
		vi.advanceTimersByTime(PING);
		expect(t.sentOf('ping')).toHaveLength(2);
		expect(connection.status.state).toBe('open');
		// The server goes silent (a dead proxy, a sleeping laptop): no pong, no events.
		vi.advanceTimersByTime(2 * PING);
		expect(t.closedByClient).toBe(true);
		expect(connection.status.state).toBe('reconnecting');
	});

	it('gives up on an attempt that never opens', () => {
		const { factory, connection } = setup();
		connection.subscribe('run-1', 0, collect().listener);
		vi.advanceTimersByTime(2 * PING);
		expect(factory.last.closedByClient).toBe(true);
		expect(connection.status.state).toBe('reconnecting');
	});

	it('reconnects at once on online and when the tab becomes visible', () => {
		const { factory, connection, win, doc, nav } = setup();
		connection.subscribe('run-1', 0, collect().listener);
		factory.last.open();
		nav.onLine = false;
		factory.last.drop(1006);
		expect(connection.status.state).toBe('offline');
		vi.advanceTimersByTime(60_000);
		expect(factory.created).toHaveLength(1);
		nav.onLine = true;
		win.dispatch('online');
		expect(factory.created).toHaveLength(2);

		factory.last.drop(1006);
		expect(connection.status.state).toBe('reconnecting');
		doc.visibilityState = 'hidden';
		doc.dispatch('visibilitychange');
		expect(factory.created).toHaveLength(2);
		doc.visibilityState = 'visible';
		doc.dispatch('visibilitychange');
		expect(factory.created).toHaveLength(3);
	});

	it('lingers after the last listener leaves, then closes and stops listening to the window', () => {
		const { factory, connection, win } = setup();
		const stop = connection.subscribe('run-1', 0, collect().listener);
		const t = factory.last;
		t.open();
		stop();
		expect(t.sentOf('unsubscribe')).toEqual([{ type: 'unsubscribe', executionId: 'run-1' }]);
		vi.advanceTimersByTime(4_000);
		// Another page follows something: the same socket is reused.
		const stop2 = connection.subscribe('run-2', 5, collect().listener);
		expect(factory.created).toHaveLength(1);
		expect(t.sentOf('subscribe').at(-1)).toEqual({ type: 'subscribe', executionId: 'run-2', since: 5 });
		stop2();
		vi.advanceTimersByTime(5_000);
		expect(t.closedByClient).toBe(true);
		expect(connection.status.state).toBe('offline');
		expect(win.listeners.get('online')?.size ?? 0).toBe(0);
		vi.advanceTimersByTime(60_000);
		expect(factory.created).toHaveLength(1);
	});

	it('shares one wire subscription between listeners and replays for a newcomer that needs older events', () => {
		const { factory, connection } = setup();
		const a = collect();
		const b = collect();
		connection.subscribe('run-1', 0, a.listener);
		const t = factory.last;
		t.open();
		t.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 3 });
		t.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(1, 3) });
		connection.subscribe('run-1', 1, b.listener);
		expect(t.sentOf('subscribe').at(-1)).toEqual({ type: 'subscribe', executionId: 'run-1', since: 1 });
		t.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 4 });
		t.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(2, 4) });
		expect(a.seqs()).toEqual([1, 2, 3, 4]);
		expect(b.seqs()).toEqual([2, 3, 4]);
	});

	it('tells listeners about a refused subscription', () => {
		const { factory, connection } = setup();
		const errors: string[] = [];
		connection.subscribe('gone', 0, { onEvents: () => {}, onError: (e) => errors.push(e.code) });
		factory.last.open();
		factory.last.receive({ type: 'error', code: 'not_found', message: 'No execution "gone"', executionId: 'gone' });
		expect(errors).toEqual(['not_found']);
	});
	it('routes execution-deleted to the list listeners', () => {
		const { factory, connection } = setup();
		const deleted: string[] = [];
		connection.subscribeExecutions({ onExecution: () => {}, onDeleted: (id) => deleted.push(id) });
		factory.last.open();
		factory.last.receive({ type: 'executions-subscribed' });
		factory.last.receive({ type: 'execution-deleted', executionId: 'run-3' });
		expect(deleted).toEqual(['run-3']);
	});
	it('follows the execution list: subscribes on open, again after a reconnect, and stops when nobody listens', () => {
		const { factory, connection } = setup();
		const seen: string[] = [];
		let acks = 0;
		const stop = connection.subscribeExecutions({
			onExecution: (execution) => seen.push(`${execution.id}:${execution.status}`),
			onSubscribed: () => acks++
		});
		expect(factory.created).toHaveLength(1);
		factory.last.open();
		expect(factory.last.sentOf('subscribe-executions')).toHaveLength(1);
		factory.last.receive({ type: 'executions-subscribed' });
		const execution = {
			id: 'run-9',
			agent: { name: 'a' },
			metadata: {},
			createdAt: '2025-01-01T00:00:00.000Z',
			updatedAt: '2025-01-01T00:00:00.000Z',
			status: 'running' as const,
			lastSeq: 3,
			usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 }
		};
		factory.last.receive({ type: 'execution', execution });
		expect(seen).toEqual(['run-9:running']);
		factory.last.receive({ type: 'execution-deleted', executionId: 'run-9' });
		expect(seen).toEqual(['run-9:running']); // a listener without onDeleted is not disturbed

		factory.last.drop(1001);
		vi.advanceTimersByTime(20_000);
		factory.last.open();
		expect(factory.last.sentOf('subscribe-executions')).toHaveLength(1);
		factory.last.receive({ type: 'executions-subscribed' });
		expect(acks).toBe(2);

		stop();
		expect(factory.last.sentOf('unsubscribe-executions')).toHaveLength(1);
		vi.advanceTimersByTime(5_000);
		expect(factory.last.closedByClient).toBe(true);
	});
});
