/**
 * The real production server with DATABASE_URL: data kept in PostgreSQL across restarts (SIGTERM
 * and SIGKILL), two nodes appending to one execution at once, a database outage answered 503
 * with Retry-After, and a wrong DATABASE_URL stopping startup with a sentence naming it.
 *
 * Needs PostgreSQL on 127.0.0.1 (tests/helpers/postgres.ts): skipped with a message without
 * it, except under CI=true, where the tests run and fail. One fresh database for this file.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { createExecution, outputEvents, postEvents, range, readAllEvents, request } from '../helpers/api.js';
import { createTestDatabase, pgTestFor, PG_ADMIN_URL, type TestDatabase } from '../helpers/postgres.js';
import { freePort, TestServer } from '../helpers/server.js';

const { pgTest, missing } = await pgTestFor('tests/integration/postgres-server.test.ts');

let db: TestDatabase | undefined;
beforeAll(async () => {
	if (!missing) db = await createTestDatabase();
});
afterAll(async () => {
	await db?.drop();
});

const servers: TestServer[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
	for (const server of servers.splice(0)) await server.cleanup();
	for (const cleanup of cleanups.splice(0)) await cleanup();
});

function databaseUrl(): string {
	if (!db) throw new Error(`CI=true and ${missing}`);
	return db.url;
}

async function start(env: Record<string, string>): Promise<TestServer> {
	const server = await TestServer.start({ env });
	servers.push(server);
	return server;
}

pgTest('create, post, read back; a restart (SIGTERM, then SIGKILL) keeps everything; no SQLite file is made', async () => {
	const server = await start({ DATABASE_URL: databaseUrl() });
	expect(server.output).toMatch(/storage: PostgreSQL at 127\.0\.0\.1:5432\/runwatch_test_/);
	expect(server.output).not.toContain('postgres://');
	const id = await createExecution(server, { metadata: { team: 'pg' } });
	const first = await postEvents(server, id, outputEvents(50, 'a'));
	expect(first.results.map((r) => r.seq)).toEqual(range(1, 50));
	await postEvents(server, id, [{ id: 'done', type: 'agent-complete' }]);

	await server.stop('SIGTERM');
	await server.restart();
	let events = await readAllEvents(server, id);
	expect(events.map((e) => e.seq)).toEqual(range(1, 51));
	const execution = await request(server, 'GET', `/api/executions/${id}`);
	expect(execution.status).toBe(200);
	expect(execution.body.execution).toMatchObject({ id, status: 'completed', lastSeq: 51, metadata: { team: 'pg' } });

	// A retried batch after a crash stores nothing twice and answers with the seqs stored first.
	await server.stop('SIGKILL');
	await server.restart();
	const retry = await postEvents(server, id, outputEvents(50, 'a'));
	expect(retry.results.every((r) => r.duplicate)).toBe(true);
	expect(retry.results.map((r) => r.seq)).toEqual(range(1, 50));
	events = await readAllEvents(server, id);
	expect(events).toHaveLength(51);
	const list = await request(server, 'GET', '/api/executions?q=pg');
	expect(list.body.executions.map((e: { id: string }) => e.id)).toEqual([id]);
	expect(existsSync(join(server.dataDir, 'runwatch.sqlite'))).toBe(false);
});

pgTest('two nodes on one database appending to one execution at once: seq gapless and unique, a retry on the other node stores nothing twice', async () => {
	const [a, b] = await Promise.all([start({ DATABASE_URL: databaseUrl() }), start({ DATABASE_URL: databaseUrl() })]);
	const id = await createExecution(a);
	const batches = range(1, 20).map((i) => outputEvents(10, `b${i}`));
	const answers = await Promise.all(batches.map((batch, i) => postEvents(i % 2 ? b : a, id, batch)));
	const seqs = answers.flatMap((r) => r.results.map((x) => x.seq)).sort((x, y) => x - y);
	expect(seqs).toEqual(range(1, 200));
	// Node B gets node A's batch again (an agent retrying through the balancer).
	const retry = await postEvents(b, id, batches[0]!);
	expect(retry.results).toEqual(answers[0]!.results.map((r) => ({ ...r, duplicate: true })));
	for (const node of [a, b]) expect((await readAllEvents(node, id)).map((e) => e.seq)).toEqual(range(1, 200));
});

/** A TCP relay to PostgreSQL that can be cut (every connection dropped, new ones refused) and restored. */
async function relayToPostgres(): Promise<{ port: number; down(): Promise<void>; up(): Promise<void> }> {
	const target = new URL(PG_ADMIN_URL);
	const port = await freePort();
	const sockets = new Set<Socket>();
	let server: Server | undefined;
	const up = () =>
		new Promise<void>((resolve, reject) => {
			server = createServer((client) => {
				const upstream = new Socket();
				upstream.connect(Number(target.port || 5432), target.hostname);
				for (const s of [client, upstream]) {
					sockets.add(s);
					s.on('error', () => {});
					s.on('close', () => sockets.delete(s));
				}
				client.pipe(upstream).pipe(client);
				client.on('close', () => upstream.destroy());
				upstream.on('close', () => client.destroy());
			});
			server.once('error', reject);
			server.listen(port, '127.0.0.1', () => resolve());
		});
	const down = () =>
		new Promise<void>((resolve) => {
			for (const s of sockets) s.destroy();
			if (server) server.close(() => resolve());
			else resolve();
			server = undefined;
		});
	await up();
	cleanups.push(down);
	return { port, down, up };
}

pgTest('a PostgreSQL outage is answered 503 unavailable with Retry-After, and ingest goes on once it is back', async () => {
	const relay = await relayToPostgres();
	const url = new URL(databaseUrl());
	url.port = String(relay.port);
	const server = await start({ DATABASE_URL: url.toString() });
	const id = await createExecution(server);
	await postEvents(server, id, outputEvents(3, 'before'));

	await relay.down();
	const refused = await request(server, 'POST', `/api/executions/${id}/events`, { body: { events: outputEvents(3, 'during') } });
	expect(refused.status).toBe(503);
	expect(refused.headers.get('retry-after')).toBe('1');
	expect(refused.body.error.code).toBe('unavailable');
	const read = await request(server, 'GET', `/api/executions/${id}/events`);
	expect(read.status).toBe(503);
	expect(read.body.error.code).toBe('unavailable');

	await relay.up();
	// The retry the 503 asked for: stored once, right after the events from before.
	const after = await postEvents(server, id, outputEvents(3, 'during'));
	expect(after.results.map((r) => r.seq)).toEqual([4, 5, 6]);
	expect((await readAllEvents(server, id)).map((e) => e.seq)).toEqual(range(1, 6));
});

pgTest('a present but wrong DATABASE_URL stops startup with a sentence naming it, and never falls back to SQLite', async () => {
	const good = new URL(databaseUrl());
	const port = await freePort(); // nobody listens there
	const wrong = [
		{ url: `postgres://postgres@127.0.0.1:${port}/runwatch`, says: /DATABASE_URL: cannot use the PostgreSQL database at 127\.0\.0\.1:\d+\/runwatch: .*ECONNREFUSED/ },
		{ url: Object.assign(new URL(good), { pathname: '/runwatch_no_such_db' }).toString(), says: /DATABASE_URL: .*database "runwatch_no_such_db" does not exist/ },
		{ url: Object.assign(new URL(good), { username: 'runwatch_no_such_role' }).toString(), says: /DATABASE_URL: .*runwatch_no_such_role/ },
		{ url: 'mysql://127.0.0.1/x', says: /DATABASE_URL must be a postgres:\/\/ URL/ }
	];
	for (const { url, says } of wrong) {
		const dataDir = mkdtempSync(join(tmpdir(), 'runwatch-pg-wrong-'));
		cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
		const error = await TestServer.start({ dataDir, env: { DATABASE_URL: url } }).catch((e: unknown) => e as Error);
		expect(error).toBeInstanceOf(Error);
		expect((error as Error).message).toMatch(/server exited during start \(\{"code":1/);
		expect((error as Error).message).toMatch(says);
		expect(existsSync(join(dataDir, 'runwatch.sqlite'))).toBe(false);
	}
});
