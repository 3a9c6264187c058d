import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
	MAX_BATCH_EVENTS,
	MAX_BODY_BYTES,
	MAX_EVENT_BYTES,
	MAX_EVENTS_PAGE,
	MAX_LIST_LIMIT
} from '../../src/lib/protocol/limits.js';
import { MAX_DISCARD_BYTES } from '../../src/lib/server/http/body.js';
import { createExecution, outputEvents, postEvents, range, request, type JsonResponse } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';

// `POST .../events` has two ways in, one function behind them: the Node fast path (production's
// default) and the SvelteKit route (`vite dev`, and production with the fast path off). Every
// test here runs against both.
describe.each([
	['the Node fast path', 'on'],
	['the SvelteKit route', 'off']
])('API, ingest through %s', (_name, fastPath) => {
	let server: TestServer;

	beforeAll(async () => {
		server = await TestServer.start({ env: { RUNWATCH_INGEST_FAST_PATH: fastPath } });
	});

	afterAll(async () => {
		await server?.cleanup();
	});

	/** Every /api error: the JSON shape, the status, never a 5xx. */
	function expectError(response: JsonResponse, status: number, code?: string): void {
		expect(response.status, JSON.stringify(response.body)).toBe(status);
		expect(response.headers.get('content-type')).toMatch(/application\/json/);
		expect(response.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
		expect(response.body.error.message.length).toBeGreaterThan(0);
		if (code) expect(response.body.error.code).toBe(code);
	}

	/** A raw HTTP request, for bodies fetch will not send (chunked without length, lying lengths). */
	function rawPost(path: string, headers: Record<string, string | number>, write: (req: ReturnType<typeof httpRequest>) => void): Promise<JsonResponse> {
		return new Promise((resolve, reject) => {
			const req = httpRequest(`${server.url}${path}`, { method: 'POST', headers: { ...server.auth, ...headers } }, (res) => {
				let text = '';
				res.setEncoding('utf8');
				res.on('data', (chunk: string) => (text += chunk));
				res.on('end', () => {
					const body = res.headers['content-type']?.includes('json') ? JSON.parse(text) : text;
					resolve({ status: res.statusCode!, headers: new Headers(res.headers as Record<string, string>), body });
				});
			});
			req.on('error', reject);
			write(req);
		});
	}

	describe('create and read', () => {
		test('create answers 201 with the execution and its URL; the same id again answers 200', async () => {
			const id = `run-${randomUUID()}`;
			const created = await request(server, 'POST', '/api/executions', {
				body: { id, agent: 'planner', department: { name: 'research' }, metadata: { env: 'test' } }
			});
			expect(created.status).toBe(201);
			expect(created.body).toMatchObject({
				id,
				agent: { name: 'planner' },
				department: { name: 'research' },
				metadata: { env: 'test' },
				status: 'pending',
				lastSeq: 0,
				url: `${server.url}/executions/${id}`
			});
			const again = await request(server, 'POST', '/api/executions', { body: { id, agent: 'planner' } });
			expect(again.status).toBe(200);
			expect(again.body.id).toBe(id);
		});

		test('a generated id is random and URL-safe', async () => {
			const a = await request(server, 'POST', '/api/executions', { body: { agent: 'a' } });
			const b = await request(server, 'POST', '/api/executions', { body: { agent: 'a' } });
			expect(a.status).toBe(201);
			expect(a.body.id).toMatch(/^[A-Za-z0-9_-]{20,64}$/);
			expect(a.body.id).not.toBe(b.body.id);
		});

		test('events: one or a batch; the server fills id and ts; status follows the reducer', async () => {
			const id = await createExecution(server);
			const one = await postEvents(server, id, { type: 'agent-start', data: { input: 'hi' } });
			expect(one).toMatchObject({ accepted: 1, lastSeq: 1, results: [{ seq: 1, duplicate: false }] });
			const batch = await postEvents(server, id, [
				{ type: 'step-start', stepId: 's1', data: { name: 'search', kind: 'tool' } },
				{ type: 'custom.thing', data: { anything: [1, 2, { x: null }] } },
				{ type: 'usage', data: { inputTokens: 7, costUsd: 0.25 }, ts: '2025-05-05T10:00:00+02:00' },
				{ type: 'agent-complete', data: { output: 'ok' } }
			]);
			expect(batch.accepted).toBe(4);
			expect(batch.results.map((r) => r.seq)).toEqual([2, 3, 4, 5]);

			const got = await request(server, 'GET', `/api/executions/${id}`, { auth: false });
			expect(got.status).toBe(200);
			expect(got.body.execution).toMatchObject({ id, status: 'completed', lastSeq: 5, usage: { inputTokens: 7, outputTokens: 0, costUsd: 0.25 } });
			expect(got.body.events.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4, 5]);
			const [first, , custom, usage] = got.body.events;
			expect(first.id).toBe(one.results[0]!.id);
			expect(first.id).toMatch(/^[A-Za-z0-9_-]+$/);
			expect(Number.isNaN(Date.parse(first.ts))).toBe(false);
			expect(custom).toMatchObject({ type: 'custom.thing', data: { anything: [1, 2, { x: null }] } });
			expect(usage.ts).toBe('2025-05-05T10:00:00+02:00');
			// A clean batch has no warnings at all.
			expect(one).not.toHaveProperty('warnings');
			expect(batch).not.toHaveProperty('warnings');
		});

		test('a type that looks like a misspelt core type is stored as custom, and the answer says which one was meant', async () => {
			const id = await createExecution(server);
			const answer = await postEvents(server, id, [{ type: 'agent-start' }, { type: 'agent-completed' }, { type: 'agent-completed' }, { type: 'my.custom' }]);
			expect(answer.accepted).toBe(4);
			expect(answer.warnings).toEqual([expect.stringMatching(/^"agent-completed" is not a core event type.*did you mean "agent-complete"\?$/)]);
			const got = await request(server, 'GET', `/api/executions/${id}`, { auth: false });
			expect(got.body.execution.status).toBe('running');
			expect(got.body.events.map((e: { type: string }) => e.type)).toEqual(['agent-start', 'agent-completed', 'agent-completed', 'my.custom']);
		});

		test('GET .../events pages with since and limit', async () => {
			const id = await createExecution(server);
			await postEvents(server, id, outputEvents(25));
			const page = async (query: string) => (await request(server, 'GET', `/api/executions/${id}/events${query}`, { auth: false })).body;
			expect((await page('')).events.map((e: { seq: number }) => e.seq)).toEqual(range(1, 25));
			expect(await page('?since=20')).toMatchObject({ lastSeq: 25 });
			expect((await page('?since=20')).events.map((e: { seq: number }) => e.seq)).toEqual(range(21, 25));
			expect((await page('?since=3&limit=4')).events.map((e: { seq: number }) => e.seq)).toEqual([4, 5, 6, 7]);
			expect((await page('?since=25')).events).toEqual([]);
			expect((await page('?since=1000')).events).toEqual([]);
			expect((await page(`?limit=${MAX_EVENTS_PAGE}`)).events).toHaveLength(25);
			// Walking pages of 7 yields everything once.
			const seen: number[] = [];
			for (let since = 0; ; ) {
				const { events } = await page(`?since=${since}&limit=7`);
				if (events.length === 0) break;
				seen.push(...events.map((e: { seq: number }) => e.seq));
				since = events.at(-1).seq;
			}
			expect(seen).toEqual(range(1, 25));
		});

		test('list: newest first, filters and cursor pages', async () => {
			const agent = `lister-${randomUUID().slice(0, 8)}`;
			const ids: string[] = [];
			for (let i = 0; i < 7; i++) ids.push(await createExecution(server, { agent: { name: agent }, department: i === 2 ? 'needle-dept' : undefined }));
			await postEvents(server, ids[0]!, { type: 'agent-complete' });
			await postEvents(server, ids[1]!, { type: 'error', data: { message: 'x' } });
			await postEvents(server, ids[3]!, { type: 'agent-start' });

			const list = async (query: string) => {
				const response = await request(server, 'GET', `/api/executions?${query}`, { auth: false });
				expect(response.status).toBe(200);
				return response.body as { executions: { id: string; status: string }[]; nextCursor: string | null };
			};
			const all = await list(`agent=${agent}`);
			expect(all.executions.map((e) => e.id)).toEqual([...ids].reverse());
			expect(all.nextCursor).toBeNull();
			expect((await list(`agent=${agent}&status=completed`)).executions.map((e) => e.id)).toEqual([ids[0]]);
			expect((await list(`agent=${agent}&status=failed`)).executions.map((e) => e.id)).toEqual([ids[1]]);
			expect((await list(`agent=${agent}&status=running`)).executions.map((e) => e.id)).toEqual([ids[3]]);
			expect((await list(`agent=${agent}&status=pending`)).executions).toHaveLength(4);
			expect((await list('q=needle-dept')).executions.map((e) => e.id)).toEqual([ids[2]]);

			const paged: string[] = [];
			let cursor: string | null = null;
			do {
				const page = await list(`agent=${agent}&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
				expect(page.executions.length).toBeLessThanOrEqual(3);
				paged.push(...page.executions.map((e) => e.id));
				cursor = page.nextCursor;
			} while (cursor);
			expect(paged).toEqual([...ids].reverse());
		});
	});

	describe('errors are JSON, with the right status, never 5xx', () => {
		let id: string;
		beforeAll(async () => {
			id = await createExecution(server);
		});

		test('401 without or with a wrong token, on every write', async () => {
			const event = { type: 'output', data: { text: 'x' } };
			expectError(await request(server, 'POST', `/api/executions/${id}/events`, { body: event, auth: false }), 401, 'unauthorized');
			expectError(
				await request(server, 'POST', `/api/executions/${id}/events`, { body: event, auth: false, headers: { authorization: 'Bearer wrong-token-wrong-token' } }),
				401,
				'unauthorized'
			);
			expectError(
				await request(server, 'POST', `/api/executions/${id}/events`, { body: event, auth: false, headers: { authorization: server.token! } }),
				401
			);
			expectError(await request(server, 'POST', `/api/executions?token=${server.token}`, { body: { agent: 'a' }, auth: false }), 401, 'unauthorized');
			// Nothing was stored.
			expect((await request(server, 'GET', `/api/executions/${id}`)).body.execution.lastSeq).toBe(0);
		});

		test('415 for a wrong content type, including a form post', async () => {
			expectError(await request(server, 'POST', `/api/executions/${id}/events`, { raw: '{"type":"x"}', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
			expectError(await request(server, 'POST', `/api/executions/${id}/events`, { raw: '{"type":"x"}' }), 415);
			expectError(await request(server, 'POST', `/api/executions/${id}/events`, { raw: new URLSearchParams({ type: 'output' }) }), 415);
			const form = new FormData();
			form.set('agent', 'a');
			expectError(await request(server, 'POST', '/api/executions', { raw: form }), 415);
			// A cross-site form post, as a browser would send it.
			expectError(
				await request(server, 'POST', '/api/executions', {
					raw: new URLSearchParams({ agent: 'a' }),
					headers: { origin: 'http://evil.example' }
				}),
				415
			);
		});

		test('400 for bad JSON and invalid bodies, naming the problem', async () => {
			expectError(await request(server, 'POST', `/api/executions/${id}/events`, { raw: '{"type":', headers: { 'content-type': 'application/json' } }), 400, 'invalid_body');
			const badLog = await request(server, 'POST', `/api/executions/${id}/events`, { body: { type: 'log', data: { level: 'loud', message: 'x' } } });
			expectError(badLog, 400, 'invalid_event');
			expect(badLog.body.error.message).toMatch(/data\.level/);
			const badInBatch = await request(server, 'POST', `/api/executions/${id}/events`, {
				body: { events: [{ type: 'output', data: { text: 'ok' } }, { type: 'step-start', data: { name: 'x', kind: 'llm' } }] }
			});
			expectError(badInBatch, 400, 'invalid_event');
			expect(badInBatch.body.error.message).toMatch(/events\.1\.stepId/);
			expectError(await request(server, 'POST', `/api/executions/${id}/events`, { body: { events: [] } }), 400);
			expectError(await request(server, 'POST', `/api/executions/${id}/events`, { body: [1, 2] }), 400);
			expectError(await request(server, 'POST', `/api/executions/${id}/events`, { body: null }), 400);
			expectError(await request(server, 'POST', '/api/executions', { body: { agent: '' } }), 400, 'invalid_body');
			expectError(await request(server, 'POST', '/api/executions', { body: { agent: 'a', id: 'bad id!' } }), 400);
			expectError(await request(server, 'POST', '/api/executions', { body: { agent: 'a', metadata: { n: 1 } } }), 400);
			// Nesting deep enough to overflow the stack when serialised is refused up front.
			const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
			const raw = (text: string) => ({ raw: text, headers: { 'content-type': 'application/json' } });
			expectError(await request(server, 'POST', `/api/executions/${id}/events`, raw(`{"type":"x","data":${deep(10_000)}}`)), 400, 'invalid_body');
			expectError(await request(server, 'POST', '/api/executions', raw(`{"agent":{"name":"a","x":${deep(10_000)}}}`)), 400, 'invalid_body');
			// A rejected batch stores nothing, not even its valid part.
			expect((await request(server, 'GET', `/api/executions/${id}`)).body.execution.lastSeq).toBe(0);
		});

		test('400 for a batch over MAX_BATCH_EVENTS', async () => {
			const response = await request(server, 'POST', `/api/executions/${id}/events`, { body: { events: outputEvents(MAX_BATCH_EVENTS + 1) } });
			expectError(response, 400);
			expect(response.body.error.message).toContain(String(MAX_BATCH_EVENTS));
			// Exactly the limit is fine.
			const full = await postEvents(server, await createExecution(server), outputEvents(MAX_BATCH_EVENTS));
			expect(full.accepted).toBe(MAX_BATCH_EVENTS);
		});

		test('413 for an event over MAX_EVENT_BYTES, alone or in a batch', async () => {
			const big = { type: 'output', data: { text: 'x'.repeat(MAX_EVENT_BYTES) } };
			expectError(await request(server, 'POST', `/api/executions/${id}/events`, { body: big }), 413, 'payload_too_large');
			const batch = await request(server, 'POST', `/api/executions/${id}/events`, { body: { events: [{ type: 'output', data: { text: 'small' } }, big] } });
			expectError(batch, 413, 'payload_too_large');
			expect(batch.body.error.message).toMatch(/events\.1/);
			// Just under the limit is stored.
			const fits = await request(server, 'POST', `/api/executions/${id}/events`, {
				body: { id: 'fits', type: 'output', data: { text: 'x'.repeat(MAX_EVENT_BYTES - 500) } }
			});
			expect(fits.status).toBe(200);
		});

		test('413 for a body over MAX_BODY_BYTES, by Content-Length and while streaming', async () => {
			const text = JSON.stringify({ events: [{ type: 'output', data: { text: 'x'.repeat(MAX_BODY_BYTES) } }] });
			expectError(await request(server, 'POST', `/api/executions/${id}/events`, { raw: text, headers: { 'content-type': 'application/json' } }), 413, 'payload_too_large');

			// Chunked, no Content-Length: the server must count as it reads.
			const chunked = await rawPost(`/api/executions/${id}/events`, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, (req) => {
				const chunk = 'x'.repeat(64 * 1024);
				req.write('{"type":"output","data":{"text":"');
				let sent = 0;
				const pump = () => {
					while (sent < MAX_BODY_BYTES + 256 * 1024) {
						sent += chunk.length;
						if (!req.write(chunk)) return void req.once('drain', pump);
					}
					req.end('"}}');
				};
				req.on('error', () => {});
				pump();
			});
			expectError(chunked, 413, 'payload_too_large');

			// The server is fine afterwards.
			expect((await postEvents(server, id, { type: 'output', data: { text: 'after' } })).accepted).toBe(1);
		});

		test('413, not a reset, for a body far over the limit (past MAX_DISCARD_BYTES), by Content-Length: events, create and OTLP', async () => {
			const size = MAX_DISCARD_BYTES + 8 * 1024 * 1024;
			const routes: [string, string][] = [
				[`/api/executions/${id}/events`, 'application/json'],
				['/api/executions', 'application/json'],
				['/v1/traces', 'application/x-protobuf']
			];
			for (const [path, type] of routes) {
				const response = await rawPost(path, { 'content-type': type, 'content-length': size }, (req) => {
					const chunk = Buffer.alloc(256 * 1024, 0x20);
					let sent = 0;
					req.on('error', () => {}); // the server may cut the connection once it has answered
					const pump = () => {
						while (sent < size) {
							sent += chunk.length;
							if (!req.write(chunk)) return void req.once('drain', pump);
						}
						req.end();
					};
					pump();
				});
				expect(response.status, path).toBe(413);
				expect(response.body.error.code, path).toBe('payload_too_large');
			}
			expect((await postEvents(server, id, { type: 'output', data: { text: 'after' } })).accepted).toBe(1);
		});

		test('400 for bad since/limit: negative, non-integer, huge', async () => {
			for (const query of ['since=-1', 'since=1.5', 'since=abc', 'since=1e3', 'since=99999999999999999999', 'limit=0', 'limit=-1', 'limit=2.5', `limit=${MAX_EVENTS_PAGE + 1}`, 'limit=99999999999999999999']) {
				const response = await request(server, 'GET', `/api/executions/${id}/events?${query}`);
				expectError(response, 400, 'invalid_query');
			}
			// The message names the parameter once.
			expect((await request(server, 'GET', `/api/executions/${id}/events?since=abc`)).body.error.message).toBe('since must be a non-negative integer');
			for (const query of ['limit=0', `limit=${MAX_LIST_LIMIT + 1}`, 'limit=-3', 'status=done', 'cursor=garbage']) {
				expectError(await request(server, 'GET', `/api/executions?${query}`), 400, 'invalid_query');
			}
		});

		test('404 for an unknown execution, on every route', async () => {
			expectError(await request(server, 'GET', '/api/executions/no-such-run'), 404, 'not_found');
			expectError(await request(server, 'GET', '/api/executions/no-such-run/events'), 404, 'not_found');
			expectError(await request(server, 'POST', '/api/executions/no-such-run/events', { body: { type: 'x' } }), 404, 'not_found');
		});

		test('400 for an execution id that cannot exist', async () => {
			expectError(await request(server, 'GET', `/api/executions/${'x'.repeat(65)}`), 400);
			expectError(await request(server, 'GET', '/api/executions/bad%20id/events'), 400);
		});

		test('404 for an unknown /api path, whatever the method', async () => {
			expectError(await request(server, 'GET', '/api/nope'), 404, 'not_found');
			expectError(await request(server, 'POST', '/api/nope/deeper', { body: {} }), 404, 'not_found');
			expectError(await request(server, 'DELETE', '/api'), 404);
		});

		test('405 for a wrong method', async () => {
			for (const [method, path] of [
				['DELETE', '/api/executions'],
				['PUT', `/api/executions/${id}`],
				['DELETE', `/api/executions/${id}/events`],
				['PATCH', `/api/executions/${id}/events`]
			] as const) {
				const response = await request(server, method, path, { body: {} });
				expectError(response, 405, 'method_not_allowed');
				expect(response.headers.get('allow')).toBeTruthy();
			}
		});
	});

	describe('idempotent ingest', () => {
		test('a retried batch is stored once and answers with the same seqs', async () => {
			const id = await createExecution(server);
			await postEvents(server, id, outputEvents(3));
			const batch = outputEvents(50);
			const first = await postEvents(server, id, batch);
			expect(first.accepted).toBe(50);
			expect(first.results.map((r) => r.seq)).toEqual(range(4, 53));
			expect(first.results.every((r) => !r.duplicate)).toBe(true);

			const retry = await postEvents(server, id, batch);
			expect(retry.accepted).toBe(0);
			expect(retry.lastSeq).toBe(53);
			expect(retry.results).toEqual(first.results.map((r) => ({ ...r, duplicate: true })));

			// A retry that overlaps new events: old ones keep their seqs, new ones continue the sequence.
			const more = outputEvents(5);
			const overlap = await postEvents(server, id, [...batch.slice(45), ...more]);
			expect(overlap.accepted).toBe(5);
			expect(overlap.results.map((r) => [r.seq, r.duplicate])).toEqual([
				...range(49, 53).map((seq) => [seq, true]),
				...range(54, 58).map((seq) => [seq, false])
			]);
			// Concurrent retries of the same batch still store it once.
			const racing = outputEvents(20);
			const answers = await Promise.all(range(1, 5).map(() => postEvents(server, id, racing)));
			expect(answers.map((a) => a.accepted).sort()).toEqual([0, 0, 0, 0, 20]);
			for (const answer of answers) expect(answer.results.map((r) => r.seq)).toEqual(range(59, 78));

			const events = (await request(server, 'GET', `/api/executions/${id}/events`)).body.events as { seq: number; id: string }[];
			expect(events.map((e) => e.seq)).toEqual(range(1, 78));
			expect(new Set(events.map((e) => e.id)).size).toBe(78);
		});
	});
});
