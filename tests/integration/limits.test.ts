// The limits that protect a server on the internet: the per-ingest-token rate, live connections
// per client address, and an SSE stream's send buffer behind a reader that stops reading.
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_BUFFERED_BYTES } from '../../src/lib/protocol/limits.js';
import { createExecution, outputEvents, postEvents, range, request } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';
import { SseClient } from '../helpers/sse.js';
import { WsClient } from '../helpers/ws.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(['on', 'off'])('ingest rate per token (RUNWATCH_INGEST_RATE=100, fast path %s)', (fastPath) => {
	let server: TestServer;
	beforeAll(async () => {
		server = await TestServer.start({ env: { RUNWATCH_INGEST_RATE: '100', RUNWATCH_INGEST_FAST_PATH: fastPath } });
	});
	afterAll(async () => {
		await server?.cleanup();
	});

	test('a batch is taken whole while the bucket is above zero; its debt refuses what follows with 429 and Retry-After, before the body is read', async () => {
		const id = await createExecution(server); // 1 of the 200-event burst
		// 250 events: admitted (the bucket is above zero), leaving it about 50 in debt.
		const first = await postEvents(server, id, outputEvents(250));
		expect(first.accepted).toBe(250);

		const refused = await request(server, 'POST', `/api/executions/${id}/events`, { body: { type: 'log', data: { level: 'info', message: 'x' } } });
		expect(refused.status).toBe(429);
		expect(refused.body.error.code).toBe('rate_limited');
		expect(refused.body.error.message).toMatch(/100 events per second/);
		const retryAfter = Number(refused.headers.get('retry-after'));
		expect(retryAfter).toBeGreaterThanOrEqual(1);
		expect(retryAfter).toBeLessThanOrEqual(2);

		// Refused before reading: a body that is not even JSON gets the 429, not a 400.
		const unread = await request(server, 'POST', `/api/executions/${id}/events`, {
			raw: '{not json',
			headers: { 'content-type': 'application/json' }
		});
		expect(unread.status).toBe(429);
		// Creating executions is ingest too.
		expect((await request(server, 'POST', '/api/executions', { body: { agent: 'a' } })).status).toBe(429);
		// Viewers are not affected, nor is a request without the token told anything about the rate.
		expect((await request(server, 'GET', `/api/executions/${id}/events`)).status).toBe(200);
		expect((await request(server, 'POST', `/api/executions/${id}/events`, { auth: false, body: { type: 'log' } })).status).toBe(401);

		// After Retry-After, it is taken again; nothing refused was stored.
		await sleep(retryAfter * 1000 + 100);
		const later = await postEvents(server, id, { id: 'after-wait', type: 'log', data: { level: 'info', message: 'again' } });
		expect(later.accepted).toBe(1);
		expect(later.lastSeq).toBe(251);
	});
});

describe('live connections per client address (RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS=3)', () => {
	let server: TestServer;
	beforeAll(async () => {
		server = await TestServer.start({ env: { RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS: '3' } });
	});
	afterAll(async () => {
		await server?.cleanup();
	});

	async function refusedUpgrade(headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
		try {
			const client = await WsClient.connect(server.wsUrl, { headers });
			client.ws.close();
			throw new Error('the upgrade was accepted');
		} catch (error) {
			const { status, body } = error as { status?: number; body?: string };
			if (status === undefined) throw error;
			return { status, body: JSON.parse(body!) };
		}
	}

	test('WebSocket connections and SSE streams count together; over the limit: 429 JSON; a closed one frees its place', async () => {
		const id = await createExecution(server);
		const ws1 = await WsClient.connect(server.wsUrl);
		const ws2 = await WsClient.connect(server.wsUrl);
		const sse = await SseClient.open(`${server.url}/api/executions/${id}/stream`);
		const open: { close(): void }[] = [{ close: () => ws1.ws.close() }, { close: () => sse.abort() }];
		try {
			// The fourth, by either transport, is refused.
			const upgrade = await refusedUpgrade();
			expect(upgrade.status).toBe(429);
			expect(upgrade.body.error.code).toBe('too_many_connections');
			expect(upgrade.body.error.message).toMatch(/RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS/);
			for (const path of [`/api/executions/${id}/stream`, '/api/sse']) {
				const refused = await request(server, 'GET', path, { auth: false, headers: { accept: 'text/event-stream' } });
				expect(refused.status, path).toBe(429);
				expect(refused.body.error.code).toBe('too_many_connections');
				expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
			}
			// X-Forwarded-For is not trusted unless ADDRESS_HEADER says so: it does not get round the limit.
			expect((await refusedUpgrade({ 'x-forwarded-for': '203.0.113.50' })).status).toBe(429);
			// Plain requests are not streams and are not counted.
			expect((await request(server, 'GET', '/api/executions')).status).toBe(200);

			// Closing a WebSocket frees a place for an SSE stream, and ending that one frees it again.
			ws2.ws.close();
			await expect.poll(async () => {
				const attempt = await SseClient.open(`${server.url}/api/sse`, { expectStream: false });
				if (attempt.response.status === 200) open.push({ close: () => attempt.abort() });
				else attempt.abort();
				return attempt.response.status;
			}, { timeout: 5_000 }).toBe(200);
			expect((await refusedUpgrade()).status).toBe(429);
			open.pop()!.close();
			await expect.poll(async () => {
				try {
					const client = await WsClient.connect(server.wsUrl);
					open.push({ close: () => client.ws.close() });
					return 'open';
				} catch {
					return 'refused';
				}
			}, { timeout: 5_000 }).toBe('open');
		} finally {
			for (const connection of open) connection.close();
		}
	});
});

describe('behind a proxy (ADDRESS_HEADER=X-Forwarded-For, RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS=1)', () => {
	let server: TestServer;
	beforeAll(async () => {
		server = await TestServer.start({ env: { RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS: '1', ADDRESS_HEADER: 'X-Forwarded-For' } });
	});
	afterAll(async () => {
		await server?.cleanup();
	});

	test("each client address the proxy reports has its own count; the entry the proxy appended is the one that counts", async () => {
		const a = await WsClient.connect(server.wsUrl, { headers: { 'x-forwarded-for': '203.0.113.1' } });
		const b = await SseClient.open(`${server.url}/api/sse`, { headers: { 'x-forwarded-for': '203.0.113.2' } });
		try {
			// A client that makes up an entry on the left is still counted by the proxy's one.
			const refused = await SseClient.open(`${server.url}/api/sse`, {
				headers: { 'x-forwarded-for': '198.51.100.9, 203.0.113.1' },
				expectStream: false
			});
			expect(refused.response.status).toBe(429);
			refused.abort();
			await expect(WsClient.connect(server.wsUrl, { headers: { 'x-forwarded-for': '203.0.113.2' } })).rejects.toMatchObject({ status: 429 });
		} finally {
			a.ws.close();
			b.abort();
		}
	});
});

describe('an SSE stream whose reader stops reading', () => {
	// Forced GCs and the heap figures come from the benchmark's preload (SIGUSR2 → gc() → a line).
	const gcPreload = fileURLToPath(new URL('../../bench/lib/gc-preload.cjs', import.meta.url));
	let server: TestServer;
	beforeAll(async () => {
		server = await TestServer.start({ env: { NODE_OPTIONS: `--expose-gc --require ${gcPreload}` } });
	});
	afterAll(async () => {
		await server?.cleanup();
	});

	/** heapUsed + external (ArrayBuffers included) after two forced GCs: what the server holds in JS. */
	async function retainedBytes(): Promise<number> {
		const before = server.output.length;
		process.kill(server.pid!, 'SIGUSR2');
		for (let i = 0; i < 100; i++) {
			const match = /BENCH_GC rss=(\d+) heapUsed=(\d+) external=(\d+)/.exec(server.output.slice(before));
			if (match) return Number(match[2]) + Number(match[3]);
			await sleep(50);
		}
		throw new Error(`no memory report from the server:\n${server.output.slice(-500)}`);
	}

	/**
	 * A raw HTTP/1.0 client (no chunked encoding to undo), so that nothing between the test and
	 * the socket reads ahead: while paused, the TCP socket is not read at all, as a stalled
	 * browser's would not be. Collects the `id:` of every SSE message as it arrives.
	 */
	function rawStream(path: string): { socket: Socket; ids: number[]; connected: () => boolean } {
		const socket = connect(server.port, '127.0.0.1');
		const ids: number[] = [];
		let head = '';
		let carry = ''; // the unfinished last line of what came so far
		let connected = false;
		socket.setEncoding('latin1');
		socket.on('data', (chunk: string) => {
			let text = chunk;
			if (!connected) {
				head += chunk;
				const end = head.indexOf('\r\n\r\n');
				if (end < 0) return;
				connected = true;
				text = head.slice(end + 4);
			}
			const lines = (carry + text).split('\n');
			carry = lines.pop()!;
			for (const line of lines) if (line.startsWith('id: ')) ids.push(Number(line.slice(4)));
		});
		socket.write(`GET ${path} HTTP/1.0\r\nHost: 127.0.0.1:${server.port}\r\nAccept: text/event-stream\r\n\r\n`);
		return { socket, ids, connected: () => connected };
	}

	test('50 MiB published while it stalls: the server holds a bounded amount for it; resumed, it gets every event in order', async () => {
		const id = await createExecution(server);
		const text = 'z'.repeat(4_000);
		let posted = 0;
		const publish = async (batches: number) => {
			for (let b = 0; b < batches; b++) {
				const batch = outputEvents(500, `b${posted}`).map((e) => ({ ...e, data: { text } }));
				posted += (await postEvents(server, id, batch)).accepted;
			}
		};
		const stream = rawStream(`/api/executions/${id}/stream`);
		try {
			await expect.poll(() => stream.connected(), { timeout: 5_000 }).toBe(true);
			stream.socket.pause();
			// Warm up (JIT, caches, the store) and fill the kernel's socket buffers, then measure.
			await publish(4);
			const baseline = await retainedBytes();

			await publish(26); // 26 × 500 × 4 KB: about 52 MB more
			expect(posted * text.length).toBeGreaterThan(50 * 1024 * 1024);
			const grown = (await retainedBytes()) - baseline;
			// Unbounded, this would be the whole 52 MB. The hub stops at MAX_BUFFERED_BYTES queued
			// in the stream, plus the batch that crossed it and what Node's socket holds.
			expect(grown).toBeLessThan(5 * MAX_BUFFERED_BYTES);

			stream.socket.resume();
			await expect
				.poll(() => stream.ids.at(-1), { timeout: 60_000, message: 'the last event reaches the resumed reader' })
				.toBe(posted);
			expect(stream.ids).toEqual(range(1, posted));
		} finally {
			stream.socket.destroy();
		}
	});
});
