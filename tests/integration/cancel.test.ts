import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_CANCEL_REASON_LENGTH, MAX_CANCEL_WAIT_SECONDS } from '../../src/lib/protocol/limits.js';
import { createExecution, postEvents, readAllEvents, request } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';

// Cancel: a viewer asks, the server stores one `cancel-requested`, the agent learns it through
// the long-poll and answers with `cancelled`.

describe('cancel on an open loopback server', () => {
	let server: TestServer;
	beforeAll(async () => {
		server = await TestServer.start();
	});
	afterAll(async () => {
		await server?.cleanup();
	});

	const cancel = (id: string, options: { body?: unknown; headers?: Record<string, string>; auth?: boolean } = {}) =>
		request(server, 'POST', `/api/executions/${id}/cancel`, options);

	test('the ingest token cancels: 202, one stored cancel-requested however often asked, status cancelling', async () => {
		const id = await createExecution(server);
		await postEvents(server, id, { type: 'agent-start' });
		const first = await cancel(id, { body: { reason: 'stuck in a loop' } });
		expect(first.status).toBe(202);
		expect(first.body).toEqual({ cancelRequested: true, reason: 'stuck in a loop', status: 'cancelling', seq: 2 });
		const again = await cancel(id, { body: { reason: 'twice' } });
		expect(again.status).toBe(202);
		expect(again.body).toMatchObject({ cancelRequested: true, reason: 'stuck in a loop', seq: 2 });

		const events = await readAllEvents(server, id);
		expect(events.map((e) => e.type)).toEqual(['agent-start', 'cancel-requested']);
		const { body } = await request(server, 'GET', `/api/executions/${id}`);
		expect(body.execution).toMatchObject({ status: 'cancelling', cancelReason: 'stuck in a loop' });
		expect(body.execution.cancelRequestedAt).toEqual(expect.any(String));
		expect(body.execution.endedAt).toBeUndefined();

		// The agent stops and says so: the execution ends as cancelled.
		await postEvents(server, id, { type: 'cancelled', data: { reason: 'stuck in a loop' } });
		const ended = await request(server, 'GET', `/api/executions/${id}`);
		expect(ended.body.execution).toMatchObject({ status: 'cancelled', endedAt: expect.any(String) });
	});

	test('an empty body is fine (no reason)', async () => {
		const id = await createExecution(server);
		const response = await fetch(`${server.url}/api/executions/${id}/cancel`, { method: 'POST', headers: server.auth });
		expect(response.status).toBe(202);
		expect(await response.json()).toEqual({ cancelRequested: true, status: 'cancelling', seq: 1 });
	});

	test('a page of this server may cancel without a token; a program without one, or a page elsewhere, may not', async () => {
		const id = await createExecution(server);
		const origin = server.url;
		const foreign = await cancel(id, { auth: false, body: {}, headers: { origin: 'http://evil.example' } });
		expect(foreign.status).toBe(403);
		expect(foreign.body.error.code).toBe('forbidden');
		const noOrigin = await cancel(id, { auth: false, body: {} });
		expect(noOrigin.status).toBe(403);
		const page = await cancel(id, { auth: false, body: {}, headers: { origin } });
		expect(page.status).toBe(202);
	});

	test('errors: unknown execution 404, ended 409, bad bodies 400, wrong media type 415', async () => {
		expect((await cancel('no-such-run', { body: {} })).status).toBe(404);
		const done = await createExecution(server);
		await postEvents(server, done, { type: 'agent-complete' });
		const ended = await cancel(done, { body: {} });
		expect(ended.status).toBe(409);
		expect(ended.body.error).toMatchObject({ code: 'conflict' });
		expect(ended.body.error.message).toMatch(/already ended/);

		const id = await createExecution(server);
		const long = await cancel(id, { body: { reason: 'x'.repeat(MAX_CANCEL_REASON_LENGTH + 1) } });
		expect(long.status).toBe(400);
		expect(long.body.error.message).toMatch(/reason/);
		expect((await cancel(id, { body: { reason: 'ok', extra: 1 } })).status).toBe(400);
		const text = await request(server, 'POST', `/api/executions/${id}/cancel`, { raw: 'stop', headers: { 'content-type': 'text/plain' } });
		expect(text.status).toBe(415);
		expect((await request(server, 'GET', `/api/executions/${id}`)).body.execution.status).toBe('pending');
	});

	test('the long-poll answers at once when decided, else when a request arrives', async () => {
		const id = await createExecution(server);
		await postEvents(server, id, { type: 'agent-start' });
		const now = await request(server, 'GET', `/api/executions/${id}/cancel`);
		expect(now.body).toEqual({ cancelRequested: false, status: 'running' });

		const started = Date.now();
		const waiting = request(server, 'GET', `/api/executions/${id}/cancel?wait=${MAX_CANCEL_WAIT_SECONDS}`);
		await new Promise((r) => setTimeout(r, 300));
		// Other events do not answer it.
		await postEvents(server, id, { type: 'output', data: { text: 'still going' } });
		await cancel(id, { body: { reason: 'enough' } });
		const answered = await waiting;
		expect(answered.status).toBe(200);
		expect(answered.body).toEqual({ cancelRequested: true, reason: 'enough', status: 'cancelling' });
		// Answered by the request, not by the wait running out.
		expect(Date.now() - started).toBeLessThan(MAX_CANCEL_WAIT_SECONDS * 1000);

		const after = await request(server, 'GET', `/api/executions/${id}/cancel?wait=5`);
		expect(after.body).toEqual({ cancelRequested: true, reason: 'enough', status: 'cancelling' });
	});

	test('the long-poll ends when the execution ends without a cancel, and when its wait runs out', async () => {
		const id = await createExecution(server);
		await postEvents(server, id, { type: 'agent-start' });
		const waiting = request(server, 'GET', `/api/executions/${id}/cancel?wait=20`);
		await new Promise((r) => setTimeout(r, 300));
		await postEvents(server, id, { type: 'agent-complete' });
		expect((await waiting).body).toEqual({ cancelRequested: false, status: 'completed' });

		const other = await createExecution(server);
		const short = await request(server, 'GET', `/api/executions/${other}/cancel?wait=1`);
		expect(short.body).toEqual({ cancelRequested: false, status: 'pending' });
	});

	test('long-poll errors: bad wait 400, unknown execution 404', async () => {
		const id = await createExecution(server);
		for (const wait of ['-1', '1.5', String(MAX_CANCEL_WAIT_SECONDS + 1), 'soon']) {
			const response = await request(server, 'GET', `/api/executions/${id}/cancel?wait=${wait}`);
			expect(response.status, wait).toBe(400);
			expect(response.body.error.code).toBe('invalid_query');
		}
		expect((await request(server, 'GET', '/api/executions/nope/cancel')).status).toBe(404);
	});

	test('the stored request reaches viewers like any event', async () => {
		const id = await createExecution(server);
		await postEvents(server, id, { type: 'agent-start' });
		await cancel(id, { body: { reason: 'from a viewer' } });
		const events = await request(server, 'GET', `/api/executions/${id}/events`);
		expect(events.body.events[1]).toMatchObject({ seq: 2, id: 'cancel-requested', type: 'cancel-requested', data: { reason: 'from a viewer' } });
	});
});

describe('cancel on a server with a viewer token', () => {
	let server: TestServer;
	const viewerToken = 'viewer-secret-0123456789';
	beforeAll(async () => {
		server = await TestServer.start({ env: { RUNWATCH_VIEWER_TOKEN: viewerToken } });
	});
	afterAll(async () => {
		await server?.cleanup();
	});

	test('a page needs the viewer token (401 without); with it, or the ingest token, cancel works', async () => {
		const id = await createExecution(server);
		const path = `/api/executions/${id}/cancel`;
		// Someone who may not even view is told to sign in.
		const anonymous = await request(server, 'POST', path, { auth: false, body: {}, headers: { origin: server.url } });
		expect(anonymous.status).toBe(401);
		const viewer = await request(server, 'POST', path, {
			auth: false,
			body: {},
			headers: { origin: server.url, authorization: `Bearer ${viewerToken}` }
		});
		expect(viewer.status).toBe(202);
		// The long-poll is reading: the viewer's right to view is enough, nothing less.
		expect((await request(server, 'GET', path, { auth: false })).status).toBe(401);
		expect((await request(server, 'GET', path)).body.cancelRequested).toBe(true);
	});
});
