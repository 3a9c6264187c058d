/**
 * Several production server processes on PostgreSQL and Redis: news published on one node
 * reaches viewers on every node (WebSocket, SSE, the dashboard's SSE session POSTed to a node
 * that does not hold the stream); two nodes appending to one execution at once keep seq gapless
 * and unique for every viewer; a node killed mid-stream, and Redis restarted mid-stream with the
 * last events published while it was down, lose nothing; /readyz says what is down. Nodes on
 * PostgreSQL without Redis still hear of each other, through the store (the healer).
 * A PostgreSQL outage answered 503 + Retry-After is in postgres-server.test.ts.
 *
 * PostgreSQL: a fresh database for this run (tests/helpers/postgres.ts), dropped afterwards.
 * Redis: our own redis-server on a free port in a temp dir (it is stopped and restarted here),
 * and a fresh channel prefix per run. Without PostgreSQL or redis-server these tests are skipped
 * with a message, except under CI=true, where they fail.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { createExecution, outputEvents, postEvents, range, request } from '../helpers/api.js';
import { CI, createTestDatabase, postgresMissing, type TestDatabase } from '../helpers/postgres.js';
import { redisGate, TestRedis } from '../helpers/redis.js';
import { TestServer } from '../helpers/server.js';
import { SseClient } from '../helpers/sse.js';
import { WsClient } from '../helpers/ws.js';

// Several processes on a shared 2-core machine: correctness with generous time, never latency.
vi.setConfig({ testTimeout: 180_000 });

const redisCheck = redisGate('tests/integration/cluster.test.ts');
const pgMissing = await postgresMissing();
if (pgMissing && !CI) console.warn(`tests/integration/cluster.test.ts: skipped: ${pgMissing}`);
const pgRun = !pgMissing || CI;
/** Needs Redis and PostgreSQL (under CI it runs without them, and fails saying why). */
const clusterTest = redisCheck.run && pgRun ? test : test.skip;
/** Needs Redis only. */
const redisTest = redisCheck.run ? test : test.skip;
/** Needs PostgreSQL only. */
const pgTest = pgRun ? test : test.skip;
const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';

let redis: TestRedis | undefined;
let db: TestDatabase | undefined;
let dataDir: string;
const servers: TestServer[] = [];
/** The three cluster nodes, started once and shared by the tests of the first block. */
const nodes: TestServer[] = [];
const clients: { close(): void }[] = [];

/** The nodes' shared store: this run's PostgreSQL database. */
function storeEnv(): Record<string, string> {
	if (!db) throw new Error(`CI=true and ${pgMissing ?? 'no test database'}`);
	return { DATABASE_URL: db.url };
}

async function startNode(env: Record<string, string | undefined> = {}): Promise<TestServer> {
	const node = await TestServer.start({
		dataDir,
		startTimeoutMs: 90_000, // three processes starting at once on a shared, busy machine
		env: { REDIS_URL: redis!.url, RUNWATCH_REDIS_PREFIX: prefix, RUNWATCH_VIEWER_TOKEN: VIEWER_TOKEN, ...storeEnv(), ...env }
	});
	servers.push(node);
	return node;
}

const prefix = `rw-it-${randomBytes(4).toString('hex')}:`;

beforeAll(async () => {
	dataDir = mkdtempSync(join(tmpdir(), 'runwatch-cluster-'));
	if (!pgMissing) db = await createTestDatabase();
	if (redisCheck.run) {
		redisCheck.require();
		redis = await TestRedis.start();
	}
});

afterEach(() => {
	for (const client of clients.splice(0)) client.close();
});

afterAll(async () => {
	for (const server of servers) await server.cleanup();
	await redis?.cleanup();
	await db?.drop();
	rmSync(dataDir, { recursive: true, force: true });
});

/** Three nodes on the same store and Redis, started at the same moment (migrations must not race). */
async function cluster(): Promise<[TestServer, TestServer, TestServer]> {
	if (nodes.length === 0) nodes.push(...(await Promise.all([startNode(), startNode(), startNode()])));
	for (const node of nodes) await waitReady(node);
	return nodes as [TestServer, TestServer, TestServer];
}

async function readyz(node: TestServer): Promise<{ status: number; body: any }> {
	const response = await fetch(`${node.url}/readyz`);
	return { status: response.status, body: await response.json() };
}

async function waitReady(node: TestServer, timeoutMs = 60_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const { status, body } = await readyz(node);
		if (status === 200) return;
		if (Date.now() > deadline) throw new Error(`node ${node.port} not ready: ${JSON.stringify(body)}\n${node.output}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

async function ws(node: TestServer, headers: Record<string, string> = {}): Promise<WsClient> {
	const client = await WsClient.connect(node.wsUrl, { headers: { authorization: `Bearer ${node.token}`, ...headers } });
	clients.push(client);
	return client;
}

async function sse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
	const client = await SseClient.open(url, { headers });
	clients.push({ close: () => client.abort() });
	return client;
}

const auth = (node: TestServer) => ({ authorization: `Bearer ${node.token}` });

/** Seqs from an execution stream (`GET /api/executions/:id/stream`). */
const streamSeqs = (client: SseClient) => client.messages.map((m) => JSON.parse(m.data).seq as number);

/** Seqs of one execution from a WebSocket-shaped message list (dashboard SSE session). */
function sessionSeqs(messages: any[], executionId: string): number[] {
	const seqs: number[] = [];
	for (const m of messages) {
		if (m.executionId !== executionId) continue;
		if (m.type === 'events') seqs.push(...m.events.map((e: { seq: number }) => e.seq));
		if (m.type === 'event') seqs.push(m.event.seq);
	}
	return seqs;
}

/** Posts `total` events to `node` in batches of `batch`, in order. */
async function ingest(node: TestServer, id: string, total: number, batch = 10, pauseMs = 0): Promise<void> {
	for (let sent = 0; sent < total; sent += batch) {
		await postEvents(node, id, outputEvents(Math.min(batch, total - sent)));
		if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
	}
}

describe('three nodes, one PostgreSQL, one Redis', () => {
	beforeAll(async () => {
		if (redisCheck.run && pgRun) await cluster();
	}, 240_000);

	clusterTest('healthz and readyz on every node: ready, naming the store and the Redis bus', async () => {
		const nodes = await cluster();
		for (const node of nodes) {
			const health = await fetch(`${node.url}/healthz`);
			expect(health.status).toBe(200);
			const { status, body } = await readyz(node);
			expect(status).toBe(200);
			expect(body).toMatchObject({ status: 'ready', down: [], checks: { store: { kind: 'postgres', ok: true }, bus: { kind: 'redis', ok: true }, viewers: { ok: true } } });
		}
		const ids = await Promise.all(nodes.map(async (node) => (await readyz(node)).body.node));
		expect(new Set(ids).size).toBe(3);
	});

	clusterTest('events posted to A reach WebSocket viewers on B and SSE viewers on C, whole and in order; the live list too', async () => {
		const [a, b, c] = await cluster();
		const id = await createExecution(a);
		const onB = await ws(b);
		await onB.subscribe(id, 0);
		const listOnC = await ws(c);
		listOnC.send({ type: 'subscribe-executions' });
		await listOnC.nextFrame('executions-subscribed');
		const onC = await sse(`${c.url}/api/executions/${id}/stream`, auth(c));
		const N = 500;
		await ingest(a, id, N, 25);
		await onB.waitForSeq(id, N, 60_000);
		await onC.waitFor(() => onC.messages.length >= N, 60_000, `${N} events on C`);
		await listOnC.waitUntil(
			() => listOnC.frames.some((f) => f.type === 'execution' && f.execution.id === id && f.execution.lastSeq === N),
			'the list on C showing the last seq'
		);
		await new Promise((r) => setTimeout(r, 200)); // anything more would be a duplicate
		expect(onB.violations).toEqual([]);
		expect(onB.seqs(id)).toEqual(range(1, N));
		expect(streamSeqs(onC)).toEqual(range(1, N));
	});

	clusterTest('A and B append to one execution at once: seq gapless and unique, and viewers on C (WebSocket, SSE) get each event once, in order', async () => {
		const [a, b, c] = await cluster();
		const id = await createExecution(a);
		const onC = await ws(c);
		await onC.subscribe(id, 0);
		const sseOnC = await sse(`${c.url}/api/executions/${id}/stream`, auth(c));
		const batches = range(1, 40).map((i) => outputEvents(10, `cc${i}`));
		const answers = await Promise.all(batches.map((batch, i) => postEvents(i % 2 ? b : a, id, batch)));
		const N = 400;
		const seqs = answers.flatMap((r) => r.results.map((x) => x.seq)).sort((x, y) => x - y);
		expect(seqs).toEqual(range(1, N));
		for (const answer of answers) {
			// Each batch is stored in one transaction: its seqs are contiguous.
			const own = answer.results.map((x) => x.seq);
			expect(own).toEqual(range(own[0]!, own[0]! + own.length - 1));
		}
		await onC.waitForSeq(id, N, 60_000);
		await sseOnC.waitFor(() => sseOnC.messages.length >= N, 60_000, `${N} events over SSE on C`);
		await new Promise((r) => setTimeout(r, 200));
		expect(onC.violations).toEqual([]);
		expect(onC.seqs(id)).toEqual(range(1, N));
		expect(streamSeqs(sseOnC)).toEqual(range(1, N));
		// What the viewers got is what was stored, whichever node stored it.
		const byId = new Map(answers.flatMap((r) => r.results.map((x) => [x.id, x.seq] as const)));
		for (const event of onC.events.get(id)!) expect(event.seq).toBe(byId.get(event.id));
	});

	clusterTest('a batch too big to carry on the bus is announced by seq, and the other nodes read it from the store', async () => {
		const [a, b, c] = await cluster();
		const id = await createExecution(a);
		const onB = await ws(b);
		await onB.subscribe(id, 0);
		const onC = await sse(`${c.url}/api/executions/${id}/stream`, auth(c));
		// 100 events of 8 KiB: over BUS_MAX_INLINE_BYTES (512 KiB) in one commit.
		const big = Array.from({ length: 100 }, (_, i) => ({ id: `big-${i}`, type: 'output', data: { text: 'x'.repeat(8 * 1024) } }));
		await postEvents(a, id, big);
		await postEvents(a, id, outputEvents(3));
		await onB.waitForSeq(id, 103, 60_000);
		await onC.waitFor(() => onC.messages.length >= 103, 60_000, '103 events on C');
		expect(onB.violations).toEqual([]);
		expect(onB.seqs(id)).toEqual(range(1, 103));
		expect(streamSeqs(onC)).toEqual(range(1, 103));
		expect(onB.events.get(id)![0]!.id).toBe('big-0');
	});

	clusterTest('the dashboard SSE session: POSTs to nodes that do not hold the stream are forwarded and answered', async () => {
		const [a, b, c] = await cluster();
		const id = await createExecution(a);
		await ingest(a, id, 20);
		const stream = await sse(`${b.url}/api/sse`, auth(b));
		await stream.waitFor(() => stream.messages.length >= 1, 30_000, 'the session message');
		const { sessionId } = stream.json[0];
		// Subscribe through C, ping through A: the stream on B answers both.
		const subscribe = await request(c, 'POST', `/api/sse/${encodeURIComponent(sessionId)}`, { body: { type: 'subscribe', executionId: id, since: 0 } });
		expect(subscribe.status).toBe(202);
		const ping = await request(a, 'POST', `/api/sse/${encodeURIComponent(sessionId)}`, { body: [{ type: 'ping' }] });
		expect(ping.status).toBe(202);
		await ingest(a, id, 30);
		await stream.waitFor(() => sessionSeqs(stream.json, id).length >= 50, 60_000, '50 events through the session');
		expect(sessionSeqs(stream.json, id)).toEqual(range(1, 50));
		expect(stream.json.some((m) => m.type === 'pong')).toBe(true);
		// Unsubscribe through A: nothing more arrives.
		expect((await request(a, 'POST', `/api/sse/${encodeURIComponent(sessionId)}`, { body: { type: 'unsubscribe', executionId: id } })).status).toBe(202);
		await new Promise((r) => setTimeout(r, 300));
		await ingest(a, id, 5);
		await new Promise((r) => setTimeout(r, 500));
		expect(sessionSeqs(stream.json, id)).toEqual(range(1, 50));
		// A session no node holds: 404 from any node (the client opens a new stream).
		stream.abort();
		await new Promise((r) => setTimeout(r, 300));
		for (const node of [a, b, c]) {
			const gone = await request(node, 'POST', `/api/sse/${encodeURIComponent(sessionId)}`, { body: { type: 'ping' } });
			expect(gone.status, `node ${node.port}`).toBe(404);
		}
	});

	clusterTest('deletion, cancel requests, share revocation and sign-out reach viewers on every node', async () => {
		const [a, b, c] = await cluster();
		// Deletion on A: a viewer on B is told, the list on C drops it.
		const doomed = await createExecution(a);
		await ingest(a, doomed, 5);
		const viewer = await ws(b);
		await viewer.subscribe(doomed, 0);
		const list = await ws(c);
		list.send({ type: 'subscribe-executions' });
		await list.nextFrame('executions-subscribed');
		expect((await request(a, 'DELETE', `/api/executions/${doomed}`)).status).toBe(204);
		await viewer.waitUntil(() => viewer.frames.some((f) => f.type === 'error' && f.code === 'not_found' && f.executionId === doomed), 'not_found on B');
		await list.waitUntil(() => list.frames.some((f) => (f as { type: string; executionId?: string }).type === 'execution-deleted' && (f as { executionId?: string }).executionId === doomed), 'execution-deleted on C');

		// Cancel requested through A while the agent long-polls C.
		const running = await createExecution(a);
		await postEvents(a, running, { type: 'agent-start' });
		const poll = request(c, 'GET', `/api/executions/${running}/cancel?wait=25`);
		await new Promise((r) => setTimeout(r, 300));
		const started = Date.now();
		expect((await request(a, 'POST', `/api/executions/${running}/cancel`, { body: { reason: 'from A' } })).status).toBeLessThan(300);
		const answered = await poll;
		expect(answered.status).toBe(200);
		expect(answered.body).toMatchObject({ cancelRequested: true });
		expect(Date.now() - started).toBeLessThan(24_000); // answered by the news, not at the end of the wait

		// A share revoked on A closes its viewer on B.
		const shared = await createExecution(a);
		const made = await request(a, 'POST', `/api/executions/${shared}/shares`, { body: {} });
		expect(made.status).toBe(201);
		const token = String(made.body.url).split('/s/')[1]!;
		const byShare = await WsClient.connect(b.wsUrl, { headers: { authorization: `Bearer ${token}` } });
		clients.push(byShare);
		await byShare.subscribe(shared, 0);
		expect((await request(a, 'DELETE', `/api/executions/${shared}/shares/${made.body.id}`)).status).toBe(204);
		expect((await byShare.waitForClose(30_000)).code).toBe(4403);

		// Signing out on C closes the session's connections on B.
		const signIn = await fetch(`${a.url}/login?next=%2F`, {
			method: 'POST',
			redirect: 'manual',
			headers: { origin: a.url, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ token: VIEWER_TOKEN })
		});
		const cookie = (signIn.headers.getSetCookie()[0] ?? '').split(';')[0]!;
		expect(cookie).toMatch(/=/);
		const signedIn = await WsClient.connect(b.wsUrl, { headers: { cookie } });
		clients.push(signedIn);
		await signedIn.subscribe(shared, 0);
		const out = await fetch(`${c.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: c.url } });
		expect(out.status).toBe(303);
		expect((await signedIn.waitForClose(30_000)).code).toBe(4403);
	});

	clusterTest('SIGKILL of the node a viewer is on: it resumes on another node from its last seq, nothing lost or twice', async () => {
		const [a, b, c] = await cluster();
		const id = await createExecution(a);
		const N = 600;
		const first = await ws(b);
		await first.subscribe(id, 0);
		const sending = ingest(a, id, N, 10, 5);
		await first.waitForSeq(id, 100, 60_000);
		await b.stop('SIGKILL');
		await first.waitForClose();
		// Resume where it was, on C, while A keeps taking events.
		const resumedFrom = first.lastSeq(id);
		const second = await ws(c);
		await second.subscribe(id, resumedFrom);
		await sending;
		await second.waitForSeq(id, N, 60_000);
		await new Promise((r) => setTimeout(r, 200));
		expect(first.violations).toEqual([]);
		expect(second.violations).toEqual([]);
		expect([...first.seqs(id), ...second.seqs(id)]).toEqual(range(1, N));
		// Bring B back for the next tests (same store and port).
		await b.restart(90_000);
		await waitReady(b);
	});

	clusterTest('Redis restarted mid-stream, the last events and a share revocation published while it is down: viewers on every node get them all, the share viewer is closed', async () => {
		const [a, b, c] = await cluster();
		const id = await createExecution(a);
		const onB = await ws(b);
		await onB.subscribe(id, 0);
		const onC = await sse(`${c.url}/api/executions/${id}/stream`, auth(c));
		await ingest(a, id, 100, 10);
		await onB.waitForSeq(id, 100, 60_000);

		const made = await request(a, 'POST', `/api/executions/${id}/shares`, { body: {} });
		const byShare = await WsClient.connect(b.wsUrl, { headers: { authorization: `Bearer ${String(made.body.url).split('/s/')[1]}` } });
		clients.push(byShare);
		await byShare.subscribe(id, 0);

		await redis!.stop();
		// Ingest goes on, acknowledged after commit, while the bus is down; readiness says so.
		await ingest(a, id, 50, 10);
		// A revocation whose news is lost: B learns it from the store once Redis is back.
		expect((await request(a, 'DELETE', `/api/executions/${id}/shares/${made.body.id}`)).status).toBe(204);
		const down = await readyz(a);
		expect(down.status).toBe(503);
		expect(down.body.status).toBe('unready');
		expect(down.body.down).toEqual(['bus']);
		expect(down.body.checks.bus.detail).toMatch(/REDIS_URL/);
		expect(down.body.checks.store.ok).toBe(true);
		expect((await fetch(`${a.url}/healthz`)).status).toBe(200);

		await redis!.restart();
		const back = Date.now();
		// Nothing more is ever published: the nodes heal from the store.
		await onB.waitForSeq(id, 150, 60_000);
		await onC.waitFor(() => onC.messages.length >= 150, 60_000, '150 events on C');
		// A figure, not a bound (this machine is shared): how long until every viewer was whole.
		console.log(`[figure] viewers whole again ${Date.now() - back} ms after Redis answered again`);
		await new Promise((r) => setTimeout(r, 300));
		expect(onB.violations).toEqual([]);
		expect(onB.seqs(id)).toEqual(range(1, 150));
		expect(streamSeqs(onC)).toEqual(range(1, 150));
		expect((await byShare.waitForClose(60_000)).code).toBe(4403);
		for (const node of [a, b, c]) await waitReady(node);
		expect(a.output).toMatch(/REDIS_URL: redis at redis:\/\/127\.0\.0\.1:\d+ does not answer/);
	});
});

describe('REDIS_URL at startup', () => {
	redisTest('a bad REDIS_URL stops startup with a sentence naming it', async () => {
		const node = await TestServer.start({ env: { REDIS_URL: 'http://127.0.0.1:6379' }, startTimeoutMs: 90_000 }).catch((error: Error) => error);
		expect(node).toBeInstanceOf(Error);
		expect((node as Error).message).toMatch(/REDIS_URL must start with redis:\/\/ or rediss:\/\//);
	});

	redisTest('Redis unreachable at start: the node answers but stays unready, with the sentence in its log', async () => {
		const nowhere = await TestRedis.start();
		const url = nowhere.url;
		await nowhere.cleanup(); // a port nobody listens on
		const node = await TestServer.start({ env: { REDIS_URL: url, RUNWATCH_REDIS_PREFIX: prefix }, startTimeoutMs: 90_000 });
		servers.push(node);
		expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
		const { status, body } = await readyz(node);
		expect(status).toBe(503);
		expect(body.down).toEqual(['bus']);
		expect(body.checks.bus.detail).toMatch(/^REDIS_URL: redis at/);
		expect(node.output).toMatch(/REDIS_URL: redis at redis:\/\/127\.0\.0\.1:\d+ does not answer/);
		await node.stop('SIGTERM');
	});
});

describe('PostgreSQL without Redis', () => {
	pgTest('two nodes on one database and no REDIS_URL hear of each other through the store: events posted to A reach viewers on B, in order, once; startup says how', async () => {
		const startPgNode = async () => {
			const node = await TestServer.start({ dataDir, startTimeoutMs: 90_000, env: { RUNWATCH_VIEWER_TOKEN: VIEWER_TOKEN, ...storeEnv() } });
			servers.push(node);
			return node;
		};
		const [a, b] = await Promise.all([startPgNode(), startPgNode()]);
		expect(b.output).toMatch(/DATABASE_URL without REDIS_URL: other nodes' events reach this node's viewers within 3 s/);
		const id = await createExecution(a);
		const onB = await ws(b);
		await onB.subscribe(id, 0);
		const sseOnB = await sse(`${b.url}/api/executions/${id}/stream`, auth(b));
		const list = await ws(b);
		list.send({ type: 'subscribe-executions' });
		await list.nextFrame('executions-subscribed');
		await ingest(a, id, 60, 10, 20);
		// The last events too, with nothing published after them: within a heal interval or two.
		await onB.waitForSeq(id, 60, 60_000);
		await sseOnB.waitFor(() => sseOnB.messages.length >= 60, 60_000, '60 events over SSE on B');
		await list.waitUntil(
			() => list.frames.some((f) => f.type === 'execution' && f.execution.id === id && f.execution.lastSeq === 60),
			'the list on B showing the last seq'
		);
		await new Promise((r) => setTimeout(r, 300));
		expect(onB.violations).toEqual([]);
		expect(onB.seqs(id)).toEqual(range(1, 60));
		expect(streamSeqs(sseOnB)).toEqual(range(1, 60));
		const { body } = await readyz(b);
		expect(body.checks).toMatchObject({ store: { kind: 'postgres', ok: true }, bus: { kind: 'local', ok: true } });
		await Promise.all([a.stop('SIGTERM'), b.stop('SIGTERM')]);
	});
});
