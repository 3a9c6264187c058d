import { afterAll, beforeAll, expect, test } from 'vitest';
import { createExecution, outputEvents, postEvents, range, readAllEvents } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';
import { WsClient } from '../helpers/ws.js';

let server: TestServer;

beforeAll(async () => {
	server = await TestServer.start();
});

afterAll(async () => {
	await server?.cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Posts `total` events as a mix of batches (1–60 events) and single events, from `workers`
 * concurrent senders. Returns the seq each event id was acknowledged with.
 */
async function ingest(executionId: string, total: number, workers: number, onProgress?: (sent: number) => void): Promise<Map<string, number>> {
	const acked = new Map<string, number>();
	let next = 0;
	let sent = 0;
	const worker = async (w: number) => {
		let round = 0;
		while (next < total) {
			const size = round++ % 3 === 0 ? 1 : Math.min(total - next, 1 + ((round * 7 + w * 13) % 60));
			const start = next;
			next += size;
			const events = outputEvents(size, `w${w}-${start}`);
			const result = await postEvents(server, executionId, size === 1 ? events[0]! : events);
			for (const r of result.results) acked.set(r.id, r.seq);
			sent += size;
			onProgress?.(sent);
		}
	};
	await Promise.all(range(1, workers).map(worker));
	return acked;
}

test('ingest → 100 WebSocket clients each receive seq 1..N exactly, in order, some joining mid-stream', async () => {
	const N = 2400;
	const id = await createExecution(server);
	const clients: WsClient[] = [];
	/** `subscribed.lastSeq` of each client: how far the execution was when it joined. */
	const joinedAt: number[] = [];
	const subscribeOne = async () => {
		const client = await WsClient.connect(server.wsUrl);
		clients.push(client);
		joinedAt.push(await client.subscribe(id, 0));
	};
	try {
		// 40 watch from the start; 60 join at points spread over the ingest.
		await Promise.all(range(1, 40).map(subscribeOne));
		const joining: Promise<void>[] = [];
		const joinAt = range(1, 60).map((i) => Math.floor((i * N) / 62));
		const ingestDone = ingest(id, N, 3, (sent) => {
			while (joinAt.length > 0 && sent >= joinAt[0]!) {
				joinAt.shift();
				joining.push(subscribeOne());
			}
		});
		const acked = await ingestDone;
		await Promise.all(joining);
		expect(clients).toHaveLength(100);
		// Most of the late ones really joined mid-stream: replay and live had to be joined.
		expect(joinedAt.filter((seq) => seq > 0 && seq < N).length).toBeGreaterThanOrEqual(40);
		expect(acked.size).toBe(N);
		expect([...acked.values()].sort((a, b) => a - b)).toEqual(range(1, N));

		await Promise.all(clients.map((client) => client.waitForSeq(id, N, 30_000)));
		await sleep(100); // anything after N would be a duplicate or a stray
		const expected = range(1, N);
		for (const [i, client] of clients.entries()) {
			expect(client.violations, `client ${i}`).toEqual([]);
			expect(client.seqs(id), `client ${i}`).toEqual(expected);
			// And each seq carries the event the POST said it would.
			for (const event of client.events.get(id)!) if (acked.get(event.id) !== event.seq) throw new Error(`client ${i}: ${event.id} at seq ${event.seq}, acked as ${acked.get(event.id)}`);
		}
		const stored = await readAllEvents(server, id);
		expect(stored.map((e) => e.seq)).toEqual(expected);
	} finally {
		for (const client of clients) client.terminate();
	}
});

test('clients that disconnect mid-stream and resume with since get exactly the rest', async () => {
	const N = 2000;
	const id = await createExecution(server);
	const CLIENTS = 20;
	/** Everything each viewer has seen, across its connections. */
	const seen: number[][] = range(1, CLIENTS).map(() => []);
	const violations: string[] = [];
	let ingesting = true;
	let resumedMidStream = 0;

	const viewer = async (i: number) => {
		let since = 0;
		let connections = 0;
		// Each viewer drops its connection a few times at different points, then stays to the end.
		const dropAfter = [150 + i * 37, 700 + i * 41, 1300 + i * 23];
		for (;;) {
			const client = await WsClient.connect(server.wsUrl);
			connections++;
			const lastSeqAtResume = await client.subscribe(id, since);
			if (connections > 1 && lastSeqAtResume < N) resumedMidStream++;
			const stopAt = dropAfter.shift();
			if (stopAt === undefined) {
				await client.waitForSeq(id, N, 30_000);
			} else {
				await client.waitUntil(() => client.lastSeq(id) >= stopAt || (!ingesting && client.lastSeq(id) >= N), `seq ${stopAt}`, 30_000);
			}
			// Drop abruptly (no close handshake), like a network cut.
			client.terminate();
			violations.push(...client.violations.map((v) => `viewer ${i}: ${v}`));
			seen[i - 1]!.push(...client.seqs(id));
			since = seen[i - 1]!.at(-1) ?? since;
			if (since >= N) return connections;
		}
	};

	const viewers = Promise.all(range(1, CLIENTS).map(viewer));
	await sleep(50);
	await ingest(id, N, 2);
	ingesting = false;
	const connections = await viewers;

	expect(violations).toEqual([]);
	for (const [i, seqs] of seen.entries()) expect(seqs, `viewer ${i + 1}`).toEqual(range(1, N));
	// Most viewers really did reconnect mid-stream.
	expect(connections.filter((c) => c >= 3).length).toBeGreaterThanOrEqual(CLIENTS / 2);
	expect(resumedMidStream).toBeGreaterThanOrEqual(CLIENTS);
});

test('a viewer that stops reading is skipped, not waited for, and catches up from storage when it reads again', async () => {
	const id = await createExecution(server);
	const slow = await WsClient.connect(server.wsUrl);
	const fast = await WsClient.connect(server.wsUrl);
	try {
		await slow.subscribe(id, 0);
		await fast.subscribe(id, 0);
		// Stop reading: the server's send buffer for this socket fills up.
		const socket = (slow.ws as unknown as { _socket: import('node:net').Socket })._socket;
		socket.pause();
		const N = 1200;
		const text = 'y'.repeat(8 * 1024); // ~10 MB in all: more than MAX_BUFFERED_BYTES plus socket buffers
		for (let i = 0; i < N; i += 100) {
			await postEvents(server, id, range(1, 100).map((k) => ({ id: `slow-${i + k}`, type: 'output', data: { text } })));
		}
		await fast.waitForSeq(id, N, 30_000); // the fast viewer is not held back
		expect(slow.lastSeq(id)).toBeLessThan(N);
		socket.resume();
		await slow.waitForSeq(id, N, 30_000);
		expect(slow.violations).toEqual([]);
		expect(slow.seqs(id)).toEqual(range(1, N));
		expect(fast.seqs(id)).toEqual(range(1, N));
	} finally {
		slow.terminate();
		fast.terminate();
	}
});
