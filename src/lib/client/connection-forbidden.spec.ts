import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Connection, type ConnectionStatus } from './connection.js';
import { FakeTarget, FakeTransportFactory } from './testing/fake-transport.js';
import { fallbackPolicy } from './transport/select.js';

/** A connection over fake WebSocket and SSE transports, live on WebSocket. */
function live() {
	const websocket = new FakeTransportFactory('websocket');
	const sse = new FakeTransportFactory('sse');
	const win = new FakeTarget();
	const doc = new FakeTarget();
	const connection = new Connection({
		transports: [websocket, sse],
		policy: fallbackPolicy({ websocket, sse }),
		random: () => 0.5,
		environment: { window: win, document: doc, navigator: { onLine: true } },
		onDiagnostic: () => {}
	});
	const statuses: ConnectionStatus[] = [];
	connection.onStatus((status) => statuses.push(status));
	connection.subscribe('run-1', 0, { onEvents: () => {} });
	websocket.last.open();
	websocket.last.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 0 });
	expect(connection.status).toMatchObject({ state: 'open', transport: 'websocket' });
	return { websocket, sse, connection, statuses, win, doc };
}

/** Nothing at all is tried for a long time, whatever the browser signals. */
function expectNoRetry(ctx: ReturnType<typeof live>): void {
	const created = ctx.websocket.created.length + ctx.sse.created.length;
	ctx.win.dispatch('online');
	ctx.doc.dispatch('visibilitychange');
	vi.advanceTimersByTime(10 * 60_000);
	expect(ctx.websocket.created.length + ctx.sse.created.length).toBe(created);
	expect(ctx.connection.status.state).toBe('forbidden');
}

beforeEach(() => {
	vi.useFakeTimers();
	vi.setSystemTime(new Date('2025-01-01T00:00:00Z'));
});
afterEach(() => {
	vi.useRealTimers();
});

describe('Connection: a viewer who may no longer view', () => {
	it('live → forbidden on close 4403, with the reason for people; one status change; no retry', () => {
		const ctx = live();
		const socket = ctx.websocket.last;
		socket.drop(4403, 'share revoked');
		expect(ctx.connection.status).toEqual({
			state: 'forbidden',
			transport: 'websocket',
			nextRetryAt: null,
			reason: expect.stringMatching(/sign-in has ended/)
		});
		expect(ctx.statuses.map((s) => s.state)).toEqual(['connecting', 'open', 'forbidden']);
		expectNoRetry(ctx);
	});

	it('live → forbidden on an `error` forbidden without executionId (what SSE sends), with its message', () => {
		const ctx = live();
		const socket = ctx.websocket.last;
		socket.receive({ type: 'error', code: 'forbidden', message: 'The share link has expired' });
		expect(socket.closedByClient).toBe(true);
		expect(ctx.connection.status).toMatchObject({ state: 'forbidden', reason: 'The share link has expired' });
		expectNoRetry(ctx);
	});

	it('a forbidden error about one execution goes to its listeners and leaves the connection alone', () => {
		const ctx = live();
		const errors: string[] = [];
		ctx.connection.subscribe('run-2', 0, { onEvents: () => {}, onError: (e) => errors.push(e.code) });
		ctx.websocket.last.receive({ type: 'error', code: 'forbidden', message: 'no', executionId: 'run-2' });
		expect(errors).toEqual(['forbidden']);
		expect(ctx.connection.status.state).toBe('open');
	});

	it('connecting → forbidden when an attempt is refused with 4403 (the SSE transport after a 401/403)', () => {
		const ctx = live();
		ctx.websocket.last.drop(1001);
		vi.advanceTimersByTime(1_000);
		const attempt = ctx.websocket.last;
		expect(ctx.connection.status.state).toBe('reconnecting');
		attempt.drop(4403);
		expect(ctx.connection.status.state).toBe('forbidden');
		expectNoRetry(ctx);
	});

	it('forbidden → reconnecting on reconnectNow (after signing in elsewhere), → open when it works', () => {
		const ctx = live();
		ctx.websocket.last.drop(4403);
		ctx.connection.reconnectNow();
		expect(ctx.connection.status).toMatchObject({ state: 'reconnecting', reason: null });
		ctx.websocket.last.open();
		ctx.websocket.last.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 0 });
		expect(ctx.connection.status.state).toBe('open');
	});

	it('forbidden → a new subscribe tries again (another page)', () => {
		const ctx = live();
		ctx.websocket.last.drop(4403);
		const created = ctx.websocket.created.length;
		ctx.connection.subscribe('run-2', 0, { onEvents: () => {} });
		expect(ctx.websocket.created.length).toBe(created + 1);
		expect(ctx.connection.status.state).toBe('reconnecting');
	});

	it('stays forbidden while another listener leaves', () => {
		const ctx = live();
		const stop = ctx.connection.subscribe('run-2', 0, { onEvents: () => {} });
		ctx.websocket.last.drop(4403);
		stop();
		vi.advanceTimersByTime(60_000);
		expect(ctx.connection.status.state).toBe('forbidden'); // run-1 still followed
	});

	it('other 44xx codes are final too, but say offline', () => {
		const ctx = live();
		ctx.websocket.last.drop(4400);
		expect(ctx.connection.status).toMatchObject({ state: 'offline', reason: expect.stringContaining('4400') });
	});
});
