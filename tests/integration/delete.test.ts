import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createExecution, outputEvents, postEvents, request } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';
import { SseClient } from '../helpers/sse.js';
import { WsClient } from '../helpers/ws.js';

// Deleting: `DELETE /api/executions/:id` and retention (RUNWATCH_RETENTION_DAYS). Who may, what
// viewers and list followers are told, what is left (nothing), and that ingest keeps answering
// while retention deletes a large execution.

const DAY = 24 * 60 * 60 * 1000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('DELETE /api/executions/:id on an open loopback server', () => {
	let server: TestServer;
	beforeAll(async () => {
		server = await TestServer.start();
	});
	afterAll(async () => {
		await server?.cleanup();
	});

	const remove = (id: string, options: { headers?: Record<string, string>; auth?: boolean } = {}) =>
		request(server, 'DELETE', `/api/executions/${id}`, options);

	test('who may: the ingest token or a page of this server; not a program without a token, nor a page elsewhere', async () => {
		const id = await createExecution(server);
		const program = await remove(id, { auth: false });
		expect(program.status).toBe(403);
		expect(program.body.error.code).toBe('forbidden');
		expect((await remove(id, { auth: false, headers: { origin: 'http://evil.example' } })).status).toBe(403);
		expect((await request(server, 'GET', `/api/executions/${id}`)).status).toBe(200);

		const page = await remove(id, { auth: false, headers: { origin: server.url } });
		expect(page.status).toBe(204);
		expect(page.body).toBe('');
		const other = await createExecution(server);
		expect((await remove(other)).status).toBe(204);
	});

	test('unknown 404 (also the second time), a malformed id 400', async () => {
		const id = await createExecution(server);
		expect((await remove(id)).status).toBe(204);
		const again = await remove(id);
		expect(again.status).toBe(404);
		expect(again.body.error.code).toBe('not_found');
		expect((await remove('never-was')).status).toBe(404);
		expect((await remove('bad%20id')).status).toBe(400);
	});

	test('the events go too; reads, the stream, ingest and subscribes answer not_found; the list drops it', async () => {
		const id = await createExecution(server);
		await postEvents(server, id, outputEvents(1000, 'a'));
		await postEvents(server, id, outputEvents(500, 'b'));
		const kept = await createExecution(server);
		await postEvents(server, kept, outputEvents(3));
		expect((await remove(id)).status).toBe(204);

		for (const path of [`/api/executions/${id}`, `/api/executions/${id}/events`, `/api/executions/${id}/stream`, `/executions/${id}/events.ndjson`]) {
			expect((await request(server, 'GET', path)).status, path).toBe(404);
		}
		const ingest = await request(server, 'POST', `/api/executions/${id}/events`, { body: { type: 'output', data: { text: 'late' } } });
		expect(ingest.status).toBe(404);
		expect(ingest.body.error.code).toBe('not_found');
		expect((await request(server, 'POST', `/api/executions/${id}/cancel`, { body: {} })).status).toBe(404);
		const list = await request(server, 'GET', '/api/executions?limit=200');
		expect(list.body.executions.map((e: { id: string }) => e.id)).not.toContain(id);
		expect(list.body.executions.map((e: { id: string }) => e.id)).toContain(kept);
		expect((await request(server, 'GET', `/api/executions/${kept}/events`)).body.events).toHaveLength(3);

		const ws = await WsClient.connect(server.wsUrl);
		try {
			await expect(ws.subscribe(id)).rejects.toThrow(/not_found/);
		} finally {
			ws.close();
		}
		// The id is free again, and starts over.
		await request(server, 'POST', '/api/executions', { body: { id, agent: { name: 'again' } } });
		expect((await postEvents(server, id, { type: 'output', data: { text: 'new' } })).lastSeq).toBe(1);
	});

	test('an agent waiting on the cancel long-poll of a deleted execution gets 404', async () => {
		const id = await createExecution(server);
		const waiting = request(server, 'GET', `/api/executions/${id}/cancel?wait=2`);
		await sleep(300);
		expect((await remove(id)).status).toBe(204);
		const answer = await waiting;
		expect(answer.status).toBe(404);
		expect(answer.body.error.code).toBe('not_found');
	});

	test('its viewers (WebSocket, SSE stream, SSE session) are told not_found and dropped; list followers get execution-deleted; others carry on', async () => {
		const id = await createExecution(server);
		const other = await createExecution(server);
		await postEvents(server, id, outputEvents(5));

		const watcher = await WsClient.connect(server.wsUrl);
		const bystander = await WsClient.connect(server.wsUrl);
		const lister = await WsClient.connect(server.wsUrl);
		const stream = await SseClient.open(`${server.url}/api/executions/${id}/stream`);
		const dashboard = await SseClient.open(`${server.url}/api/sse`);
		try {
			await watcher.subscribe(id, 0);
			await watcher.subscribe(other, 0);
			await watcher.waitForSeq(id, 5);
			await bystander.subscribe(other, 0);
			lister.send({ type: 'subscribe-executions' });
			await lister.nextFrame('executions-subscribed');
			await stream.waitFor(() => stream.messages.length === 5, 10_000, 'the stream replay');
			await dashboard.waitFor(() => dashboard.messages.length >= 1, 10_000, 'the session message');
			const sessionId = dashboard.json[0].sessionId;
			expect((await request(server, 'POST', `/api/sse/${sessionId}`, { auth: false, body: { type: 'subscribe', executionId: id, since: 0 } })).status).toBe(202);
			await dashboard.waitFor(() => dashboard.json.some((m) => m.type === 'events' && m.executionId === id), 10_000, 'the session replay');

			const from = watcher.frames.length;
			expect((await remove(id)).status).toBe(204);

			const notice = { type: 'error', code: 'not_found', executionId: id, message: `Execution "${id}" was deleted` };
			await watcher.waitUntil(() => watcher.frames.slice(from).some((f) => f.type === 'error'), 'the not_found error');
			expect(watcher.frames.slice(from).filter((f) => f.type === 'error')).toEqual([notice]);
			await lister.waitUntil(() => lister.frames.some((f) => (f as { type: string }).type === 'execution-deleted'), 'execution-deleted');
			expect(lister.frames.filter((f) => (f as { type: string }).type === 'execution-deleted')).toEqual([{ type: 'execution-deleted', executionId: id }]);
			await dashboard.waitFor(() => dashboard.json.some((m) => m.type === 'error'), 10_000, 'the session not_found');
			expect(dashboard.json.filter((m) => m.type === 'error')).toEqual([notice]);

			// The execution's own stream: the notice as its last message (no id: a resuming
			// EventSource keeps its place), then the end.
			await stream.done;
			expect(stream.ended).toBe(true);
			expect(stream.messages).toHaveLength(6);
			expect(stream.messages.at(-1)).toMatchObject({ id: undefined });
			expect(JSON.parse(stream.messages.at(-1)!.data)).toEqual(notice);

			// The same connections go on with everything else.
			await postEvents(server, other, outputEvents(2));
			await watcher.waitForSeq(other, 2);
			await bystander.waitForSeq(other, 2);
			expect(bystander.frames.some((f) => f.type === 'error')).toBe(false);
			watcher.send({ type: 'ping' });
			await watcher.nextFrame('pong', from);
			expect(watcher.violations).toEqual([]);
		} finally {
			for (const client of [watcher, bystander, lister]) client.close();
			stream.abort();
			dashboard.abort();
		}
	});
});

describe('DELETE with a viewer token', () => {
	let server: TestServer;
	const viewerToken = 'viewer-secret-0123456789';
	beforeAll(async () => {
		server = await TestServer.start({ env: { RUNWATCH_VIEWER_TOKEN: viewerToken } });
	});
	afterAll(async () => {
		await server?.cleanup();
	});

	test('401 without a token (a page of this server included) or with a wrong one; 204 with the viewer or the ingest token', async () => {
		const id = await createExecution(server);
		const path = `/api/executions/${id}`;
		const anonymous = await request(server, 'DELETE', path, { auth: false, headers: { origin: server.url } });
		expect(anonymous.status).toBe(401);
		expect(anonymous.body.error.code).toBe('unauthorized');
		expect((await request(server, 'DELETE', path, { auth: false, headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
		expect((await request(server, 'GET', path)).status).toBe(200);
		const viewer = await request(server, 'DELETE', path, { auth: false, headers: { origin: server.url, authorization: `Bearer ${viewerToken}` } });
		expect(viewer.status).toBe(204);
		const other = await createExecution(server);
		expect((await request(server, 'DELETE', `/api/executions/${other}`)).status).toBe(204);
		expect((await request(server, 'DELETE', `/api/executions/${other}`)).status).toBe(404);
	});
});

describe('RUNWATCH_RETENTION_DAYS', () => {
	let seeding: TestServer | undefined;
	let server: TestServer | undefined;
	afterAll(async () => {
		await server?.cleanup();
		await seeding?.cleanup();
	});

	const BIG_EVENTS = 200_000;

	test('deletes only executions that ended more than N days ago, in the background, announced like deletes; ingest keeps answering meanwhile', async () => {
		// Seeded on a server without retention: agents' own timestamps set when runs ended.
		seeding = await TestServer.start();
		const ended = async (id: string, endedDaysAgo: number, type = 'agent-complete', data?: object) => {
			await request(seeding!, 'POST', '/api/executions', { body: { id, agent: { name: 'retention' } } });
			await postEvents(seeding!, id, [
				{ id: 'start', type: 'agent-start', ts: daysAgo(endedDaysAgo + 1) },
				{ id: 'end', type, ts: daysAgo(endedDaysAgo), data }
			]);
		};
		await ended('old-completed', 40);
		await ended('old-failed', 31, 'error', { message: 'boom' });
		await ended('recent', 29);
		await request(seeding, 'POST', '/api/executions', { body: { id: 'old-running', agent: { name: 'retention' } } });
		await postEvents(seeding, 'old-running', { type: 'agent-start', ts: daysAgo(300) });
		await request(seeding, 'POST', '/api/executions', { body: { id: 'big', agent: { name: 'retention' } } });
		for (let sent = 0; sent < BIG_EVENTS; sent += 1000) {
			await postEvents(seeding, 'big', outputEvents(1000, `b${sent}`).map((event) => ({ ...event, ts: daysAgo(60) })));
		}
		await postEvents(seeding, 'big', { id: 'end', type: 'agent-complete', ts: daysAgo(60) });
		await seeding.stop();

		server = await TestServer.start({ dataDir: seeding.dataDir, env: { RUNWATCH_RETENTION_DAYS: '30' } });
		const lister = await WsClient.connect(server.wsUrl);
		const watcher = await WsClient.connect(server.wsUrl);
		try {
			lister.send({ type: 'subscribe-executions' });
			await lister.nextFrame('executions-subscribed');
			await watcher.subscribe('old-completed', 0);
			const live = await createExecution(server);

			// Ingest while retention runs (its first run starts a few seconds after startup). Deleting
			// in one transaction would hold every request until the end; chunks let them through, so
			// requests are answered while `big` is half deleted: there, but its newest events gone.
			const halfDeleted = async () => {
				const { status, body } = await request(server!, 'GET', '/api/executions/big');
				return status === 200 && (body.events.at(-1)?.seq ?? 0) < body.execution.lastSeq;
			};
			let posted = 0;
			let answeredMidway = 0;
			const deadline = Date.now() + 120_000;
			for (;;) {
				const before = await halfDeleted();
				const result = await postEvents(server, live, outputEvents(10)); // throws unless 200
				posted += 10;
				expect(result.lastSeq).toBe(posted);
				if (before && (await halfDeleted())) answeredMidway++;
				if ((await request(server, 'GET', '/api/executions/big')).status === 404) break;
				if (Date.now() > deadline) throw new Error(`retention did not delete "big" in time:\n${server.output}`);
			}
			expect(answeredMidway).toBeGreaterThan(0);

			const status = async (id: string) => (await request(server!, 'GET', `/api/executions/${id}`)).status;
			await expect.poll(() => status('old-completed'), { timeout: 30_000 }).toBe(404);
			expect(await status('old-failed')).toBe(404);
			expect((await request(server, 'GET', '/api/executions/big/events')).status).toBe(404);
			expect(await status('recent')).toBe(200);
			expect(await status('old-running')).toBe(200);
			expect(await status(live)).toBe(200);

			await lister.waitUntil(() => lister.frames.filter((f) => (f as { type: string }).type === 'execution-deleted').length === 3, 'three execution-deleted');
			const deleted = lister.frames.filter((f) => (f as { type: string }).type === 'execution-deleted').map((f) => (f as unknown as { executionId: string }).executionId);
			expect(deleted.sort()).toEqual(['big', 'old-completed', 'old-failed']);
			await watcher.waitUntil(() => watcher.frames.some((f) => f.type === 'error'), 'not_found');
			expect(watcher.frames.find((f) => f.type === 'error')).toMatchObject({ code: 'not_found', executionId: 'old-completed' });
			expect(server.output).toMatch(/retention: deleted 3 execution\(s\)/);
		} finally {
			lister.close();
			watcher.close();
		}
		// Give the space-reclaiming steps a moment before the directory is removed.
		await sleep(100);
	}, 300_000);
});
