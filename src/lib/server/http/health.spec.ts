import { expect, test } from 'vitest';
import { READY_CHECK_TIMEOUT_MS } from '../../protocol/limits.js';
import { LocalBus } from '../bus/bus.js';
import { createSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { ConnectionLimiter } from '../limits/connection-limiter.js';
import { readiness } from './health.js';

test('ready when the store and the bus answer and viewers are accepted', async () => {
	const store = createSqliteStore({ file: ':memory:' });
	const bus = new LocalBus();
	const { status, body } = await readiness({ store, bus, draining: false, connections: { total: 0 } });
	expect(status).toBe(200);
	expect(body).toEqual({
		status: 'ready',
		node: bus.nodeId,
		down: [],
		checks: { store: { kind: 'sqlite', ok: true }, bus: { kind: 'local', ok: true, detail: 'in-process' }, viewers: { ok: true, detail: 'accepting', live: 0 } }
	});
	await store.close();
});

test('viewers.live: the live streams (WebSocket + SSE) this node holds now', async () => {
	const store = createSqliteStore({ file: ':memory:' });
	const connections = new ConnectionLimiter(4);
	const releases = [connections.acquire('10.0.0.1'), connections.acquire('10.0.0.1'), connections.acquire('10.0.0.2')];
	expect((await readiness({ store, bus: new LocalBus(), draining: false, connections })).body.checks.viewers.live).toBe(3);
	releases[0]!();
	releases[0]!(); // twice is harmless
	expect((await readiness({ store, bus: new LocalBus(), draining: false, connections })).body.checks.viewers.live).toBe(2);
	await store.close();
});

test('draining: 503 naming viewers', async () => {
	const store = createSqliteStore({ file: ':memory:' });
	const { status, body } = await readiness({ store, bus: new LocalBus(), draining: true, connections: { total: 0 } });
	expect(status).toBe(503);
	expect(body.status).toBe('draining');
	expect(body.down).toEqual(['viewers']);
	await store.close();
});

test('a store that fails or hangs, a bus that is closed: 503 naming each, within READY_CHECK_TIMEOUT_MS', async () => {
	const closed = createSqliteStore({ file: ':memory:' });
	await closed.close();
	const bus = new LocalBus();
	await bus.close();
	const failed = await readiness({ store: closed, bus, draining: false, connections: { total: 0 } });
	expect(failed.status).toBe(503);
	expect(failed.body.status).toBe('unready');
	expect(failed.body.down).toEqual(['store', 'bus']);
	expect(failed.body.checks.store.detail).toBeTruthy();

	const hanging = { kind: 'postgres', ping: () => new Promise<void>(() => {}) } as unknown as Store;
	const started = Date.now();
	const slow = await readiness({ store: hanging, bus: new LocalBus(), draining: false, connections: { total: 0 } });
	expect(Date.now() - started).toBeGreaterThanOrEqual(READY_CHECK_TIMEOUT_MS - 50);
	expect(slow.body.down).toEqual(['store']);
	expect(slow.body.checks.store.detail).toBe(`DATABASE_URL: the postgres store did not answer within ${READY_CHECK_TIMEOUT_MS} ms`);
});
