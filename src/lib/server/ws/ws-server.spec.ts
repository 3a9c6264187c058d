import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import WebSocket from 'ws';
import { Access } from '../access/access.js';
import { Hub } from '../hub/hub.js';
import { createSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { WsServer, type WsServerOptions } from './ws-server.js';

/** The WebSocket endpoint on an in-process HTTP server, with options the production entry does not expose. */
let store: Store;
let access: Access;
let hub: Hub;
let wsServer: WsServer;
let http: Server;
let url: string;

async function setup(options: Partial<WsServerOptions> & { host?: string; viewerToken?: string } = {}): Promise<void> {
	store = createSqliteStore({ file: ':memory:' });
	await store.createExecution({ id: 'r1', agent: { name: 'a' }, metadata: {}, createdAt: new Date().toISOString() });
	hub = new Hub({ store });
	access = new Access({ ingestToken: 'ingest-token-0123456789', host: options.host ?? '127.0.0.1', viewerToken: options.viewerToken, store });
	wsServer = new WsServer({ hub, store, access, ...options });
	http = createServer((_req, res) => res.end());
	http.on('upgrade', (request, socket, head) => {
		if (!wsServer.handleUpgrade(request, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
	});
	await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
	url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/api/ws`;
}

afterEach(async () => {
	await wsServer?.close();
	access?.close();
	hub?.close();
	await store?.close();
	http?.closeAllConnections();
	await new Promise((resolve) => http?.close(resolve));
});

function open(target = url, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(target, options);
		ws.once('open', () => resolve(ws));
		ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode })));
		ws.once('error', reject);
	});
}

function closed(ws: WebSocket): Promise<number> {
	return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

function nextMessage(ws: WebSocket): Promise<Record<string, unknown>> {
	return new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()))));
}

describe('WsServer', () => {
	describe('defaults', () => {
		beforeEach(() => setup({ pingIntervalMs: 40 }));

		test('server pings find a dead connection and terminate it; a live one stays', async () => {
			const dead = await open(url, { autoPong: false });
			const alive = await open(url);
			expect(wsServer.connectionCount).toBe(2);
			const code = await closed(dead);
			expect(code).toBe(1006); // terminated, no close handshake
			expect(alive.readyState).toBe(WebSocket.OPEN);
			for (let i = 0; i < 100 && wsServer.connectionCount !== 1; i++) await new Promise((r) => setTimeout(r, 5));
			expect(wsServer.connectionCount).toBe(1);
			// Several ping intervals later the live one is still there.
			await new Promise((r) => setTimeout(r, 150));
			expect(alive.readyState).toBe(WebSocket.OPEN);
			alive.close();
		});

		test('close() sends 1001 to every viewer and refuses new upgrades with 503', async () => {
			const a = await open();
			const b = await open();
			const codes = Promise.all([closed(a), closed(b)]);
			await wsServer.close();
			expect(await codes).toEqual([1001, 1001]);
			await expect(open()).rejects.toMatchObject({ status: 503 });
		});

		test('other paths are left to the caller', async () => {
			await expect(open(url.replace('/api/ws', '/other'))).rejects.toMatchObject({ status: 404 });
		});

		test('a socket closing while its subscribe is answered leaves no subscription behind', async () => {
			const ws = await open();
			ws.send(JSON.stringify({ type: 'subscribe', executionId: 'r1', since: 0 }));
			ws.terminate();
			// However long the server takes to see the close (a busy machine), it ends with none.
			await vi.waitFor(
				() => {
					expect(hub.stats().subscriptions).toBe(0);
					expect(wsServer.connectionCount).toBe(0);
				},
				{ timeout: 10_000, interval: 20 }
			);
		});
	});

	test('a configured ORIGIN is accepted as a browser origin', async () => {
		await setup({ origin: 'https://runwatch.example' });
		const ws = await open(url, { origin: 'https://runwatch.example' });
		ws.send(JSON.stringify({ type: 'ping' }));
		expect(await nextMessage(ws)).toEqual({ type: 'pong' });
		ws.close();
		await expect(open(url, { origin: 'https://evil.example' })).rejects.toMatchObject({ status: 403 });
	});

	test('when viewing is not open, a socket without a credential is closed with 4403 (a browser sees why)', async () => {
		await setup({ host: '0.0.0.0', viewerToken: 'viewer-token-0123456789' });
		expect(await closed(await open())).toBe(4403);
		// Tokens in the URL no longer count.
		expect(await closed(await open(`${url}?token=viewer-token-0123456789`))).toBe(4403);
		const byHeader = await open(url, { headers: { authorization: 'Bearer viewer-token-0123456789' } });
		byHeader.send(JSON.stringify({ type: 'ping' }));
		expect(await nextMessage(byHeader)).toEqual({ type: 'pong' });
		byHeader.close();
	});

	test('a share holder subscribes to its execution only; revoking it closes the socket with 4403', async () => {
		await setup({ host: '0.0.0.0', viewerToken: 'viewer-token-0123456789' });
		await store.createExecution({ id: 'r2', agent: { name: 'b' }, metadata: {}, createdAt: new Date().toISOString() });
		const { share, token } = await access.shares.create('r1', undefined);
		const ws = await open(url, { headers: { cookie: `runwatch_share_${share.id}=${token}` } });
		ws.send(JSON.stringify({ type: 'subscribe', executionId: 'r1' }));
		expect(await nextMessage(ws)).toMatchObject({ type: 'subscribed', executionId: 'r1' });
		ws.send(JSON.stringify({ type: 'subscribe', executionId: 'r2' }));
		expect(await nextMessage(ws)).toMatchObject({ type: 'error', code: 'forbidden', executionId: 'r2' });
		ws.send(JSON.stringify({ type: 'subscribe-executions' }));
		expect(await nextMessage(ws)).toMatchObject({ type: 'error', code: 'forbidden' });
		const code = closed(ws);
		await access.shares.revoke('r1', share.id);
		access.shareRevoked(share.id);
		expect(await code).toBe(4403);
	});
});
