import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { WS_MAX_PAYLOAD_BYTES } from '../../protocol/limits.js';
import { clientMessageSchema } from '../../protocol/messages.js';
import { anyInputArb } from '../../protocol/testing/arbitraries.js';
import { Access } from '../access/access.js';
import { Hub } from '../hub/hub.js';
import { createSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { WsServer } from './ws-server.js';

/*
 * The real WebSocket endpoint, fed arbitrary frames over a real socket: text that is not JSON,
 * JSON that is no message, binary, invalid UTF-8, frames over the limit. The process carries on,
 * a bad frame is answered with an `error` (or, for what the protocol forbids at the frame level,
 * a close with 1007 / 1009), and every other connection keeps working.
 */

let store: Store;
let access: Access;
let hub: Hub;
let wsServer: WsServer;
let http: Server;
let url: string;
let bystander: WebSocket;

function open(): Promise<WebSocket> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url);
		ws.once('open', () => resolve(ws));
		ws.once('error', reject);
	});
}

/** Sends a ping and waits for the pong, skipping other replies. */
function pong(ws: WebSocket): Promise<void> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error('no pong')), 5000);
		const onMessage = (data: WebSocket.RawData) => {
			if (JSON.parse(data.toString()).type !== 'pong') return;
			clearTimeout(timer);
			ws.off('message', onMessage);
			resolve();
		};
		ws.on('message', onMessage);
		ws.send(JSON.stringify({ type: 'ping' }));
	});
}

beforeAll(async () => {
	store = createSqliteStore({ file: ':memory:' });
	await store.createExecution({ id: 'r1', agent: { name: 'a' }, metadata: {}, createdAt: new Date().toISOString() });
	hub = new Hub({ store });
	access = new Access({ ingestToken: 'ingest-token-0123456789', host: '127.0.0.1', store });
	wsServer = new WsServer({ hub, store, access });
	http = createServer((_req, res) => res.end());
	http.on('upgrade', (request, socket, head) => {
		if (!wsServer.handleUpgrade(request, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
	});
	await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
	url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/api/ws`;
	bystander = await open();
});

afterAll(async () => {
	bystander?.close();
	await wsServer?.close();
	access?.close();
	hub?.close();
	await store?.close();
	http?.closeAllConnections();
	await new Promise((resolve) => http?.close(resolve));
});

type Frame = { kind: 'text'; data: string } | { kind: 'binary'; data: Uint8Array } | { kind: 'bad-utf8' } | { kind: 'too-big' };

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
	{ weight: 4, arbitrary: fc.oneof(fc.string({ maxLength: 60 }), anyInputArb.map((v) => JSON.stringify(v) ?? 'undefined')).map((data) => ({ kind: 'text' as const, data })) },
	{ weight: 2, arbitrary: fc.uint8Array({ maxLength: 60 }).map((data) => ({ kind: 'binary' as const, data })) },
	{ weight: 1, arbitrary: fc.constant<Frame>({ kind: 'bad-utf8' }) },
	{ weight: 1, arbitrary: fc.constant<Frame>({ kind: 'too-big' }) }
);

describe('WsServer, fed arbitrary frames', () => {
	test('the server and every other connection carry on; bad frames get errors; the socket still answers ping', async () => {
		await fc.assert(
			fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 6 }), async (frames) => {
				const ws = await open();
				const replies: Record<string, unknown>[] = [];
				ws.on('message', (data) => replies.push(JSON.parse(data.toString())));
				const closed = new Promise<number>((resolve) => ws.once('close', resolve));
				// A frame the protocol itself forbids ends the connection: 1007 for text that is not
				// UTF-8, 1009 past the frame limit. Nothing is sent after it.
				const fatal = frames.findIndex((f) => f.kind === 'bad-utf8' || f.kind === 'too-big');
				const sent = fatal === -1 ? frames : frames.slice(0, fatal + 1);
				for (const frame of sent) {
					if (frame.kind === 'text') ws.send(frame.data);
					else if (frame.kind === 'binary') ws.send(frame.data, { binary: true });
					else if (frame.kind === 'bad-utf8') ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
					else ws.send('x'.repeat(WS_MAX_PAYLOAD_BYTES + 1));
				}
				if (fatal === -1) {
					await pong(ws);
					// Every frame that was not a valid message got one error reply, in order, before the pong.
					const bad = sent.filter((f) => f.kind === 'binary' || (f.kind === 'text' && !isMessage(f.data))).length;
					expect(replies.filter((r) => r.type === 'error' && r.code === 'bad_request')).toHaveLength(bad);
					ws.close();
				} else {
					const kind = sent[fatal]!.kind;
					expect(await closed).toBe(kind === 'too-big' ? 1009 : 1007);
				}
				await closed;
				await pong(bystander);
			}),
			{ numRuns: 40 }
		);
		for (let i = 0; i < 100 && wsServer.connectionCount !== 1; i++) await new Promise((r) => setTimeout(r, 10));
		expect(wsServer.connectionCount).toBe(1);
		expect(hub.stats().subscriptions).toBe(0);
	}, 30_000);
});

function isMessage(text: string): boolean {
	try {
		return clientMessageSchema.safeParse(JSON.parse(text)).success;
	} catch {
		return false;
	}
}
