// What the pages tell about an agent, over HTTP: search within an execution over everything
// stored (GET .../search), the list's search over error messages, the agent names the filter
// offers (GET /api/agents) and today's totals per agent (GET /api/usage). docs/protocol.md.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_SEARCH_PAGE } from '../../src/lib/protocol/limits.js';
import { createExecution, postEvents, request } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';

let server: TestServer;

beforeAll(async () => {
	server = await TestServer.start({ env: { RUNWATCH_VIEWER_TOKEN: 'story-viewer-token' } });
});

afterAll(async () => {
	await server?.cleanup();
});

const viewer = { authorization: 'Bearer story-viewer-token' };

describe('GET /api/executions/:id/search', () => {
	let id: string;
	beforeAll(async () => {
		id = await createExecution(server, { agent: { name: 'searcher' } });
		// 2,500 events: more than the page renders or one read returns, so this is the server's search.
		const events = Array.from({ length: 2500 }, (_, i) => ({ type: 'log', data: { level: 'info', message: `note ${i + 1}` } }));
		events[4] = { type: 'log', data: { level: 'error', message: 'Invoice INV-2044 has no ledger entry' } };
		events[2399] = { type: 'log', data: { level: 'info', message: 'retried invoice inv-2044' } };
		for (let i = 0; i < events.length; i += 1000) await postEvents(server, id, events.slice(i, i + 1000));
	});
	const search = (query: string) => request(server, 'GET', `/api/executions/${id}/search?${query}`, { headers: viewer, auth: false });

	test('finds every stored match, oldest first, with the words of the query', async () => {
		const found = await search('q=inv%202044');
		expect(found.status).toBe(200);
		expect(found.body.events.map((e: { seq: number }) => e.seq)).toEqual([5, 2400]);
		expect(found.body.more).toBe(false);
		expect(found.body.events[0]).toMatchObject({ type: 'log', data: { message: 'Invoice INV-2044 has no ledger entry' } });
	});

	test('pages back with before and limit; more says there is more', async () => {
		const newest = await search('q=note&limit=2');
		expect(newest.body.events.map((e: { seq: number }) => e.seq)).toEqual([2499, 2500]);
		expect(newest.body.more).toBe(true);
		const back = await search('q=note&limit=2&before=3');
		expect(back.body.events.map((e: { seq: number }) => e.seq)).toEqual([1, 2]);
		expect(back.body.more).toBe(false);
	});

	test('bad queries are 400 invalid_query; unknown executions 404; viewing needs a viewer', async () => {
		for (const bad of ['', 'q=', `q=x&limit=${MAX_SEARCH_PAGE + 1}`, 'q=x&limit=0', 'q=x&before=-1', `q=${'x'.repeat(201)}`]) {
			const answer = await search(bad);
			expect(answer.status, bad).toBe(400);
			expect(answer.body.error.code).toBe('invalid_query');
		}
		expect((await request(server, 'GET', '/api/executions/nope/search?q=x', { headers: viewer, auth: false })).status).toBe(404);
		expect((await request(server, 'GET', `/api/executions/${id}/search?q=x`, { auth: false })).status).toBe(401);
	});
});

describe('the list: search over errors, agent names, today per agent', () => {
	const agent = `agent-${randomUUID().slice(0, 8)}`;
	let failedId: string;
	beforeAll(async () => {
		failedId = await createExecution(server, { agent: { name: agent } });
		await postEvents(server, failedId, [
			{ type: 'agent-start' },
			{ type: 'usage', data: { inputTokens: 120, outputTokens: 30, costUsd: 0.0208 } },
			{ type: 'error', data: { message: `Upstream ${agent} refused the ledger export` } }
		]);
		const ok = await createExecution(server, { agent: { name: agent } });
		await postEvents(server, ok, [{ type: 'agent-start' }, { type: 'usage', data: { inputTokens: 5, outputTokens: 5, costUsd: 0.0055 } }]);
	});

	test('q finds an execution by its error message', async () => {
		const list = await request(server, 'GET', `/api/executions?q=${encodeURIComponent('refused the LEDGER')}`, { headers: viewer, auth: false });
		expect(list.body.executions.map((e: { id: string }) => e.id)).toEqual([failedId]);
	});

	test('GET /api/agents lists every agent name, sorted', async () => {
		const { body } = await request(server, 'GET', '/api/agents', { headers: viewer, auth: false });
		expect(body.agents).toContain(agent);
		expect(body.agents).toContain('searcher');
		expect(body.agents).toEqual([...body.agents].sort());
	});

	test('GET /api/usage: today per agent, with the open executions', async () => {
		const { status, body } = await request(server, 'GET', '/api/usage', { headers: viewer, auth: false });
		expect(status).toBe(200);
		expect(body.since).toBe(new Date(new Date().toISOString().slice(0, 10)).toISOString());
		expect(body.agents.find((a: { agent: string }) => a.agent === agent)).toEqual({
			agent,
			runs: 2,
			failed: 1,
			inputTokens: 125,
			outputTokens: 35,
			costUsd: 0.0263
		});
		// The failed one has ended; the other still runs.
		const open = body.open.filter((e: { agent: { name: string } }) => e.agent.name === agent);
		expect(open).toHaveLength(1);
		expect(open[0].status).toBe('running');
		const tomorrow = await request(server, 'GET', `/api/usage?since=${new Date(Date.now() + 86_400_000).toISOString()}`, { headers: viewer, auth: false });
		expect(tomorrow.body.agents).toEqual([]);
		expect((await request(server, 'GET', '/api/usage?since=yesterday', { headers: viewer, auth: false })).status).toBe(400);
		expect((await request(server, 'GET', '/api/usage', { auth: false })).status).toBe(401);
	});
});
