import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_BUFFERED_BYTES, SSE_HEARTBEAT_MS, SSE_RETRY_MS } from '../../src/lib/protocol/limits.js';
import { createExecution, outputEvents, postEvents, range, request, type PostResult } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';
import { SseClient } from '../helpers/sse.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: TestServer;
beforeAll(async () => {
	server = await TestServer.start();
});
afterAll(async () => {
	await server?.cleanup();
});

const streamUrl = (id: string, query = '') => `${server.url}/api/executions/${id}/stream${query}`;

/** The stream's events (data parsed), after checking that every message's id is its seq. */
function eventsOf(client: SseClient): { seq: number; id: string; type: string }[] {
	return client.messages.map((m) => {
		const event = JSON.parse(m.data);
		expect(m.id).toBe(String(event.seq));
		return event;
	});
}

async function ingest(id: string, count: number): Promise<PostResult> {
	return postEvents(server, id, outputEvents(count));
}

describe('GET /api/executions/:id/stream', () => {
	test('headers for proxies, no compression, and the first bytes (retry:) at once', async () => {
		const id = await createExecution(server);
		const client = await SseClient.open(streamUrl(id), { headers: { 'accept-encoding': 'gzip, deflate, br' } });
		try {
			const h = client.response.headers;
			expect(h.get('content-type')).toMatch(/^text\/event-stream/);
			expect(h.get('cache-control')).toBe('no-cache, no-transform');
			expect(h.get('x-accel-buffering')).toBe('no');
			expect(h.get('content-encoding') ?? 'identity').toBe('identity');
			// Nothing stored yet, so only the preamble can arrive: it must not wait for an event.
			// Nothing is ever stored here: the preamble arriving at all proves it did not wait for one.
			await client.waitFor(() => client.retry !== undefined, 20_000, 'the retry line');
			expect(client.retry).toBe(SSE_RETRY_MS);
			expect(client.messages).toEqual([]);
		} finally {
			client.abort();
		}
	});

	test('id: equals seq on every event; stored events first, then live ones', async () => {
		const id = await createExecution(server);
		await ingest(id, 30);
		const client = await SseClient.open(streamUrl(id));
		try {
			await client.waitFor(() => client.messages.length >= 30, 5_000, '30 stored events');
			await ingest(id, 20);
			await client.waitFor(() => client.messages.length >= 50, 5_000, '50 events');
			expect(eventsOf(client).map((e) => e.seq)).toEqual(range(1, 50));
			expect(client.messages.every((m) => m.event === 'message')).toBe(true);
		} finally {
			client.abort();
		}
	});

	test(`a heartbeat comment within SSE_HEARTBEAT_MS (${SSE_HEARTBEAT_MS} ms) on a quiet stream`, async () => {
		const id = await createExecution(server);
		const client = await SseClient.open(streamUrl(id));
		try {
			const started = Date.now();
			await client.waitFor(() => client.comments.includes('heartbeat'), SSE_HEARTBEAT_MS + 1_500, 'a heartbeat');
			expect(Date.now() - started).toBeLessThanOrEqual(SSE_HEARTBEAT_MS + 1_500);
			expect(client.comments[0]).toBe('connected');
		} finally {
			client.abort();
		}
	});

	test('resumes after Last-Event-ID; after ?since=; the header wins over ?since=', async () => {
		const id = await createExecution(server);
		let lastSeq = (await ingest(id, 40)).lastSeq;
		/** [request headers, query, first seq expected (relative to the end: 'end+1')] */
		const cases: [Record<string, string>, string, number | 'end+1'][] = [
			[{ 'last-event-id': '25' }, '', 26],
			[{}, '?since=10', 11],
			[{ 'last-event-id': '30' }, '?since=5', 31],
			[{ 'last-event-id': '0' }, '?since=38', 1],
			[{ 'last-event-id': '999' }, '', 'end+1'], // past the end: nothing old, live from the end
			[{ 'last-event-id': 'junk' }, '?since=39', 40] // an unusable header is ignored
		];
		for (const [headers, query, expectedFirst] of cases) {
			const first = expectedFirst === 'end+1' ? lastSeq + 1 : expectedFirst;
			const client = await SseClient.open(streamUrl(id, query), { headers });
			try {
				if (first <= lastSeq) await client.waitFor(() => client.messages.length >= lastSeq - first + 1, 5_000, `events ${first}..${lastSeq}`);
				else await client.waitFor(() => client.retry !== undefined, 2_000, 'the preamble');
				lastSeq = (await ingest(id, 1)).lastSeq;
				await client.waitFor(() => client.lastEventId === String(lastSeq), 5_000, 'the live event');
				expect(eventsOf(client).map((e) => e.seq), JSON.stringify([headers, query])).toEqual(range(first, lastSeq));
			} finally {
				client.abort();
			}
		}
	});

	test('bad since → 400 JSON; unknown execution → 404 JSON; malformed id → 400', async () => {
		const id = await createExecution(server);
		for (const since of ['-1', 'abc', '1.5', '99999999999999999999']) {
			const response = await request(server, 'GET', `/api/executions/${id}/stream?since=${encodeURIComponent(since)}`, { auth: false });
			expect(response.status, since).toBe(400);
			expect(response.body.error.code).toBe('invalid_query');
		}
		const missing = await request(server, 'GET', '/api/executions/no-such-run/stream', { auth: false });
		expect(missing.status).toBe(404);
		expect(missing.body.error.code).toBe('not_found');
		const bad = await request(server, 'GET', `/api/executions/${'x'.repeat(65)}/stream`, { auth: false });
		expect(bad.status).toBe(400);
		expect(bad.headers.get('content-type')).toContain('application/json');
	});

	test('HEAD answers the stream headers at once, with no body (curl -I does not hang)', async () => {
		const id = await createExecution(server);
		for (const path of [`/api/executions/${id}/stream`, '/api/sse']) {
			const response = await fetch(server.url + path, { method: 'HEAD', signal: AbortSignal.timeout(3_000) });
			expect(response.status, path).toBe(200);
			expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
			expect(await response.text()).toBe('');
		}
		const missing = await fetch(`${server.url}/api/executions/no-such-run/stream`, { method: 'HEAD', signal: AbortSignal.timeout(3_000) });
		expect(missing.status).toBe(404);
	});

	test('50 clients cutting their streams at random and resuming with Last-Event-ID each end with 1..N exactly', async () => {
		const id = await createExecution(server);
		const CLIENTS = 50;
		const BATCHES = 100;
		let ingesting = true;
		// 2,500 events in batches of 1..49 with short pauses, so cuts land mid-stream.
		const ingestion = (async () => {
			let total = 0;
			for (let b = 0; b < BATCHES; b++) {
				const size = b === BATCHES - 1 ? 2500 - total : 1 + ((b * 37) % 45);
				total += size;
				await postEvents(server, id, outputEvents(size, `b${b}`));
				await sleep(b % 3 === 0 ? 15 : 0);
			}
			ingesting = false;
			return total;
		})();

		const reconnectsPerClient: number[] = [];
		let cutsWhileIngesting = 0;
		const client = async (n: number): Promise<number[]> => {
			const seqs: number[] = [];
			let lastId = '';
			let cuts = 0;
			for (;;) {
				const headers: Record<string, string> = lastId ? { 'last-event-id': lastId } : {};
				// Half the clients also carry a stale ?since=, which the header must beat.
				const stream = await SseClient.open(streamUrl(id, n % 2 && lastId ? '?since=0' : ''), { headers });
				const finalRound = !ingesting && cuts >= 3;
				if (finalRound && lastId === '2500') {
					// Already holds everything: the resumed stream must add nothing.
					await stream.waitFor(() => stream.retry !== undefined, 5_000, `client ${n}'s preamble`);
					await sleep(50);
				} else if (finalRound) {
					await stream.waitFor(() => stream.lastEventId === '2500', 15_000, `client ${n} reaching 2500`);
				} else {
					await sleep(5 + Math.floor(Math.random() * 120));
				}
				if (ingesting) cutsWhileIngesting++;
				stream.abort();
				await stream.done;
				for (const m of stream.messages) {
					const event = JSON.parse(m.data);
					if (m.id !== String(event.seq)) throw new Error(`client ${n}: id ${m.id} for seq ${event.seq}`);
					seqs.push(event.seq);
				}
				if (stream.lastEventId) lastId = stream.lastEventId;
				if (finalRound) break;
				cuts++;
			}
			reconnectsPerClient.push(cuts);
			return seqs;
		};

		const [total, ...results] = await Promise.all([ingestion, ...range(1, CLIENTS).map(client)]);
		expect(total).toBe(2500);
		for (const seqs of results) expect(seqs).toEqual(range(1, 2500));
		expect(Math.min(...reconnectsPerClient)).toBeGreaterThanOrEqual(3);
		expect(cutsWhileIngesting).toBeGreaterThanOrEqual(CLIENTS * 3);
	});

	test('a reader that stops reading during a 5,000-event burst ends with 1..N; the server stays responsive', async () => {
		const id = await createExecution(server);
		const slow = await SseClient.open(streamUrl(id));
		const fast = await SseClient.open(streamUrl(id));
		try {
			slow.pause();
			// ~4 KB per event: 20 MB in all, well past the server's per-viewer buffer limit and the socket buffers.
			const text = 'z'.repeat(4_000);
			let sent = 0;
			while (sent < 5_000) {
				const batch = outputEvents(500).map((e) => ({ ...e, data: { text } }));
				await postEvents(server, id, batch);
				sent += 500;
			}
			expect(sent * text.length).toBeGreaterThan(4 * MAX_BUFFERED_BYTES);
			await fast.waitFor(() => fast.lastEventId === '5000', 15_000, 'the fast reader');
			// While the slow one still is not reading, the server goes on answering (it is not
			// blocked on that viewer; how fast is the benchmarks' business).
			const list = await request(server, 'GET', '/api/executions?limit=1', { auth: false });
			expect(list.status).toBe(200);
			await sleep(500);
			slow.resume();
			await slow.waitFor(() => slow.lastEventId === '5000', 20_000, 'the slow reader');
			expect(eventsOf(slow).map((e) => e.seq)).toEqual(range(1, 5000));
			expect(eventsOf(fast).map((e) => e.seq)).toEqual(range(1, 5000));
		} finally {
			slow.abort();
			fast.abort();
		}
	});
});

describe('GET /api/sse and POST /api/sse/:sessionId', () => {
	async function openSession(): Promise<{ client: SseClient; sessionId: string; post: (body: unknown) => Promise<{ status: number; body: any }> }> {
		const client = await SseClient.open(`${server.url}/api/sse`);
		await client.waitFor(() => client.messages.length >= 1, 20_000, 'the session message');
		const first = client.json[0];
		expect(first.type).toBe('session');
		expect(typeof first.sessionId).toBe('string');
		const post = (body: unknown) => request(server, 'POST', `/api/sse/${first.sessionId}`, { body, auth: false });
		return { client, sessionId: first.sessionId, post };
	}

	/** Events per execution from the stream's `events`/`event` messages. */
	function eventsByExecution(client: SseClient): Map<string, number[]> {
		const map = new Map<string, number[]>();
		for (const m of client.json) {
			if (m.type !== 'events' && m.type !== 'event') continue;
			const list = map.get(m.executionId) ?? [];
			for (const e of m.type === 'events' ? m.events : [m.event]) list.push(e.seq);
			map.set(m.executionId, list);
		}
		return map;
	}

	test('same headers as the execution stream; the session message comes first, at once', async () => {
		const { client } = await openSession();
		try {
			expect(client.response.headers.get('cache-control')).toBe('no-cache, no-transform');
			expect(client.response.headers.get('x-accel-buffering')).toBe('no');
			expect(client.response.headers.get('content-encoding') ?? 'identity').toBe('identity');
			expect(client.retry).toBe(SSE_RETRY_MS);
			expect(client.messages[0]!.id).toBeUndefined();
		} finally {
			client.abort();
		}
	});

	test('subscribe, ping and unsubscribe, one at a time or as an array; several executions on one stream', async () => {
		const a = await createExecution(server);
		const b = await createExecution(server);
		await ingest(a, 5);
		await ingest(b, 3);
		const { client, post } = await openSession();
		try {
			expect((await post({ type: 'subscribe', executionId: a, since: 2 })).status).toBe(202);
			await client.waitFor(() => eventsByExecution(client).get(a)?.length === 3, 5_000, 'a 3..5');
			const batch = await post([{ type: 'subscribe', executionId: b, since: 0 }, { type: 'ping' }]);
			expect(batch.status).toBe(202);
			await client.waitFor(() => client.json.some((m) => m.type === 'pong'), 5_000, 'pong');
			const kinds = client.json.map((m) => (m.type === 'subscribed' ? `subscribed ${m.executionId === a ? 'a' : 'b'} ${m.lastSeq}` : m.type));
			expect(kinds.slice(0, 2)).toEqual(['session', 'subscribed a 5']);
			expect(kinds.indexOf('subscribed b 3')).toBeLessThan(kinds.indexOf('pong'));

			await ingest(a, 4);
			await ingest(b, 2);
			await client.waitFor(() => eventsByExecution(client).get(b)?.length === 5 && eventsByExecution(client).get(a)?.length === 7, 5_000, 'live events on both');
			expect(eventsByExecution(client).get(a)).toEqual(range(3, 9));
			expect(eventsByExecution(client).get(b)).toEqual(range(1, 5));

			// Unsubscribed from a: its new events stop; b's carry on.
			expect((await post({ type: 'unsubscribe', executionId: a })).status).toBe(202);
			await post({ type: 'ping' });
			await client.waitFor(() => client.json.filter((m) => m.type === 'pong').length === 2, 5_000, 'second pong');
			await ingest(a, 3);
			await ingest(b, 1);
			await client.waitFor(() => eventsByExecution(client).get(b)?.length === 6, 5_000, 'b 6');
			await post({ type: 'ping' });
			await client.waitFor(() => client.json.filter((m) => m.type === 'pong').length === 3, 5_000, 'third pong');
			expect(eventsByExecution(client).get(a)).toEqual(range(3, 9));
		} finally {
			client.abort();
		}
	});

	test('the execution list feed works on the SSE stream too', async () => {
		const { client, post } = await openSession();
		try {
			await post({ type: 'subscribe-executions' });
			await client.waitFor(() => client.json.some((m) => m.type === 'executions-subscribed'), 5_000, 'executions-subscribed');
			const id = await createExecution(server);
			await client.waitFor(() => client.json.some((m) => m.type === 'execution' && m.execution.id === id), 5_000, 'the new execution');
			await post({ type: 'unsubscribe-executions' });
			await post({ type: 'ping' });
			await client.waitFor(() => client.json.some((m) => m.type === 'pong'), 5_000, 'pong');
			const other = await createExecution(server);
			await post({ type: 'ping' });
			await client.waitFor(() => client.json.filter((m) => m.type === 'pong').length === 2, 5_000, 'second pong');
			expect(client.json.some((m) => m.type === 'execution' && m.execution.id === other)).toBe(false);
		} finally {
			client.abort();
		}
	});

	test('a bad message gets an error on the stream and the stream carries on', async () => {
		const id = await createExecution(server);
		const { client, post } = await openSession();
		try {
			const response = await post([{ type: 'explode' }, { type: 'subscribe', executionId: 'no-such-run' }, { type: 'ping' }]);
			expect(response.status).toBe(202);
			await client.waitFor(() => client.json.some((m) => m.type === 'pong'), 5_000, 'pong');
			const errors = client.json.filter((m) => m.type === 'error');
			expect(errors.map((e) => e.code)).toEqual(['bad_request', 'not_found']);
			expect(errors[1].executionId).toBe('no-such-run');
			await post({ type: 'subscribe', executionId: id, since: 0 });
			await ingest(id, 2);
			await client.waitFor(() => eventsByExecution(client).get(id)?.length === 2, 5_000, 'events after the errors');
		} finally {
			client.abort();
		}
	});

	test('not JSON → 400; more than 256 messages in one POST → 400; nothing reaches the stream', async () => {
		const { client, sessionId, post } = await openSession();
		try {
			const garbage = await request(server, 'POST', `/api/sse/${sessionId}`, {
				raw: '{nope',
				headers: { 'content-type': 'application/json' },
				auth: false
			});
			expect(garbage.status).toBe(400);
			const tooMany = await post(Array.from({ length: 257 }, () => ({ type: 'ping' })));
			expect(tooMany.status).toBe(400);
			expect(tooMany.body.error.code).toBe('invalid_body');
			const most = await post(Array.from({ length: 256 }, () => ({ type: 'ping' })));
			expect(most.status).toBe(202);
			await client.waitFor(() => client.json.filter((m) => m.type === 'pong').length === 256, 5_000, '256 pongs');
			await sleep(100);
			expect(client.json.filter((m) => m.type === 'pong')).toHaveLength(256);
		} finally {
			client.abort();
		}
	});

	test('an unknown session → 404 JSON; a session whose stream ended → 404', async () => {
		const unknown = await request(server, 'POST', '/api/sse/not-a-session', { body: { type: 'ping' }, auth: false });
		expect(unknown.status).toBe(404);
		expect(unknown.body.error.code).toBe('not_found');

		const { client, post } = await openSession();
		expect((await post({ type: 'ping' })).status).toBe(202);
		client.abort();
		await client.done;
		let status = 0;
		for (let i = 0; i < 40 && status !== 404; i++) {
			status = (await post({ type: 'ping' })).status;
			if (status !== 404) await sleep(50);
		}
		expect(status).toBe(404);
	});
});

describe('with a viewer token, then SIGTERM', () => {
	const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';
	let own: TestServer;
	beforeAll(async () => {
		own = await TestServer.start({ env: { RUNWATCH_VIEWER_TOKEN: VIEWER_TOKEN } });
	});
	afterAll(async () => {
		await own?.cleanup();
	});

	test('both SSE endpoints need a credential (a token in the URL is not one); the bearer token works on the stream and its POSTs', async () => {
		const id = await createExecution(own);
		for (const path of [`/api/executions/${id}/stream`, '/api/sse']) {
			const denied = await fetch(own.url + path, { signal: AbortSignal.timeout(3_000) });
			expect(denied.status, path).toBe(401);
			expect((await denied.json()).error.code).toBe('unauthorized');
		}
		for (const path of [`/api/executions/${id}/stream?token=${VIEWER_TOKEN}`, `/api/sse?token=${VIEWER_TOKEN}`]) {
			const denied = await fetch(own.url + path, { signal: AbortSignal.timeout(3_000) });
			expect(denied.status, path).toBe(401);
		}
		const bearer = { authorization: `Bearer ${VIEWER_TOKEN}` };
		const client = await SseClient.open(`${own.url}/api/sse`, { headers: bearer });
		try {
			await client.waitFor(() => client.messages.length >= 1, 20_000, 'the session message');
			const sessionId = client.json[0].sessionId;
			const post = (headers: Record<string, string>) =>
				fetch(`${own.url}/api/sse/${sessionId}`, {
					method: 'POST',
					headers: { 'content-type': 'application/json', ...headers },
					body: JSON.stringify({ type: 'subscribe', executionId: id, since: 0 })
				});
			expect((await post({})).status).toBe(401); // the session id alone is not a credential
			expect((await post(bearer)).status).toBe(202);
			await postEvents(own, id, outputEvents(2));
			await client.waitFor(() => client.json.filter((m) => m.type === 'events').flatMap((m) => m.events).length === 2, 5_000, 'two events');
		} finally {
			client.abort();
		}
	});

	test('SIGTERM ends open SSE streams promptly and the process exits 0', async () => {
		const id = await createExecution(own);
		const one = await SseClient.open(`${own.url}/api/executions/${id}/stream`, { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } });
		const dashboard = await SseClient.open(`${own.url}/api/sse`, { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } });
		await dashboard.waitFor(() => dashboard.messages.length >= 1, 20_000, 'the session message');
		await one.waitFor(() => one.retry !== undefined, 20_000, 'the retry line');
		const started = Date.now();
		const exit = own.stop('SIGTERM');
		await Promise.all([one.done, dashboard.done]);
		expect(Date.now() - started).toBeLessThan(8_000); // ended by the shutdown, not the 10 s drain limit
		expect(one.ended && dashboard.ended).toBe(true);
		expect(one.error).toBeUndefined(); // ended cleanly, not cut
		expect(dashboard.error).toBeUndefined();
		// The dashboard's stream says why it ends, so its client comes back at once.
		expect(JSON.parse(dashboard.messages.at(-1)!.data)).toMatchObject({ type: 'error', code: 'shutting_down' });
		expect(await exit).toEqual({ code: 0, signal: null });
	});
});

// Production streams SSE from the Node entry (src/lib/server/sse/node-stream.ts); `vite dev`, and
// production with RUNWATCH_INGEST_FAST_PATH=off, through the SvelteKit routes. Same code behind
// both; everything above runs on the Node path, this on the routes.
describe('through the SvelteKit routes (RUNWATCH_INGEST_FAST_PATH=off)', () => {
	let routed: TestServer;
	beforeAll(async () => {
		routed = await TestServer.start({ env: { RUNWATCH_INGEST_FAST_PATH: 'off' } });
	});
	afterAll(async () => {
		await routed?.cleanup();
	});

	test('the execution stream: headers, stored then live events with id: seq, resume, HEAD, errors as JSON', async () => {
		const id = await createExecution(routed);
		await postEvents(routed, id, outputEvents(5));
		const url = `${routed.url}/api/executions/${id}/stream`;
		const client = await SseClient.open(url);
		try {
			expect(client.response.headers.get('cache-control')).toBe('no-cache, no-transform');
			await client.waitFor(() => client.messages.length >= 5, 5_000, '5 stored events');
			await postEvents(routed, id, outputEvents(3));
			await client.waitFor(() => client.messages.length >= 8, 5_000, '8 events');
			expect(client.messages.map((m) => Number(m.id))).toEqual(range(1, 8));
			expect(client.retry).toBe(SSE_RETRY_MS);
		} finally {
			client.abort();
		}
		const resumed = await SseClient.open(url, { headers: { 'last-event-id': '6' } });
		try {
			await resumed.waitFor(() => resumed.messages.length >= 2, 5_000, 'events 7 and 8');
			expect(resumed.messages.map((m) => Number(m.id))).toEqual([7, 8]);
		} finally {
			resumed.abort();
		}
		const head = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(3_000) });
		expect(head.status).toBe(200);
		expect(await head.text()).toBe('');
		const missing = await fetch(`${routed.url}/api/executions/no-such-run/stream`, { signal: AbortSignal.timeout(3_000) });
		expect(missing.status).toBe(404);
		expect((await missing.json()).error.code).toBe('not_found');
	});

	test('the dashboard stream: session first, then subscribed events', async () => {
		const id = await createExecution(routed);
		await postEvents(routed, id, outputEvents(2));
		const client = await SseClient.open(`${routed.url}/api/sse`);
		try {
			await client.waitFor(() => client.messages.length >= 1, 2_000, 'the session message');
			const { sessionId } = client.json[0];
			const posted = await request(routed, 'POST', `/api/sse/${sessionId}`, { body: { type: 'subscribe', executionId: id, since: 0 }, auth: false });
			expect(posted.status).toBe(202);
			await client.waitFor(() => client.json.some((m) => m.type === 'events'), 5_000, 'the events');
			const events = client.json.filter((m) => m.type === 'events').flatMap((m) => m.events.map((e: { seq: number }) => e.seq));
			expect(events).toEqual([1, 2]);
		} finally {
			client.abort();
		}
	});
});
