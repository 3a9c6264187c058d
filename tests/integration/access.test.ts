import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_FAILED_SIGN_INS } from '../../src/lib/protocol/limits.js';
import { createExecution, postEvents, request } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';
import { SseClient } from '../helpers/sse.js';
import { WsClient } from '../helpers/ws.js';

// Sign-in, sign-out and share links, end to end on the real server: who may see what, on every
// path (pages, JSON, NDJSON, SSE, WebSocket), and live connections losing access at once.

const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';

/** A request that does not follow redirects, so that 303s and their cookies can be read. */
function raw(server: TestServer, path: string, init: RequestInit = {}): Promise<Response> {
	return fetch(server.url + path, { redirect: 'manual', ...init });
}

/** `name=value` of a Set-Cookie header, and its attributes. */
function setCookie(response: Response): { pair: string; attributes: string } {
	const header = response.headers.getSetCookie()[0] ?? '';
	const [pair = '', ...attributes] = header.split(';').map((part) => part.trim());
	return { pair, attributes: attributes.join('; ') };
}

async function signIn(server: TestServer, headers: Record<string, string> = {}): Promise<Response> {
	return raw(server, '/login?next=%2Fexecutions%2Fx', {
		method: 'POST',
		// A browser's form post (without `accept: text/html`, SvelteKit answers as to `use:enhance`).
		headers: { origin: server.url, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', ...headers },
		body: new URLSearchParams({ token: VIEWER_TOKEN })
	});
}

describe('sign-in with a viewer token', () => {
	let server: TestServer;
	beforeAll(async () => {
		server = await TestServer.start({ env: { RUNWATCH_VIEWER_TOKEN: VIEWER_TOKEN } });
	});
	afterAll(async () => {
		await server?.cleanup();
	});

	test('pages send a stranger to /login, keeping where they were going', async () => {
		for (const path of ['/', '/executions/some-run?x=1']) {
			const response = await raw(server, path);
			expect(response.status, path).toBe(303);
			expect(response.headers.get('location')).toBe(`/login?next=${encodeURIComponent(path)}`);
		}
		const login = await raw(server, '/login');
		expect(login.status).toBe(200);
		expect(await login.text()).toContain('Viewer token');
		// The API answers in JSON, never with a redirect.
		const api = await raw(server, '/api/executions');
		expect(api.status).toBe(401);
		expect((await api.json()).error.code).toBe('unauthorized');
	});

	test('the right token sets an HttpOnly, SameSite=Lax, expiring session cookie (Secure behind HTTPS) and goes on', async () => {
		const response = await signIn(server);
		expect(response.status).toBe(303);
		expect(response.headers.get('location')).toBe('/executions/x');
		const { pair, attributes } = setCookie(response);
		expect(pair).toMatch(/^runwatch_session=.+/);
		expect(pair).not.toContain(VIEWER_TOKEN);
		expect(attributes).toMatch(/HttpOnly/i);
		expect(attributes).toMatch(/SameSite=Lax/i);
		expect(attributes).toMatch(/Expires=/i);
		expect(attributes).not.toMatch(/Secure/i);
		const cookie = pair;
		expect((await raw(server, '/', { headers: { cookie } })).status).toBe(200);
		expect((await raw(server, '/api/executions', { headers: { cookie } })).status).toBe(200);

		// Behind a TLS proxy the page's origin is https too.
		const https = await signIn(server, { 'x-forwarded-proto': 'https', origin: server.url.replace('http:', 'https:') });
		expect(https.status).toBe(303);
		expect(setCookie(https).attributes).toMatch(/Secure/i);
	});

	test('a wrong token is refused; a client address that keeps failing is told to wait (429, Retry-After)', async () => {
		// Its own address: the limiter counts per client address, and this one is loopback.
		const wrong = () =>
			raw(server, '/login', {
				method: 'POST',
				headers: { origin: server.url, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
				body: new URLSearchParams({ token: 'not-the-token' })
			});
		const statuses: number[] = [];
		for (let i = 0; i < MAX_FAILED_SIGN_INS; i++) statuses.push((await wrong()).status);
		expect(statuses).toEqual(Array(MAX_FAILED_SIGN_INS).fill(401));
		const limited = await wrong();
		expect(limited.status).toBe(429);
		expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
		// Even the right token waits now.
		expect((await signIn(server)).status).toBe(429);
	});

	test('?token= on a page signs in once and leaves the address; a wrong one is just dropped', async () => {
		const id = await createExecution(server);
		const right = await raw(server, `/executions/${id}?token=${VIEWER_TOKEN}&tab=1`);
		expect(right.status).toBe(303);
		expect(right.headers.get('location')).toBe(`/executions/${id}?tab=1`);
		expect(setCookie(right).pair).toMatch(/^runwatch_session=/);
		const wrong = await raw(server, `/executions/${id}?token=nope`);
		expect(wrong.headers.get('location')).toBe(`/executions/${id}`);
		expect(wrong.headers.getSetCookie()).toEqual([]);
	});
});

describe('sign-out ends the session everywhere, live connections included', () => {
	let server: TestServer;
	beforeAll(async () => {
		// A different server: the sign-in limiter of the one above may be holding loopback back.
		server = await TestServer.start({ env: { RUNWATCH_VIEWER_TOKEN: VIEWER_TOKEN } });
	});
	afterAll(async () => {
		await server?.cleanup();
	});

	test('after sign-out the cookie is worthless, its WebSocket closes with 4403 and its SSE stream says forbidden', async () => {
		const cookie = setCookie(await signIn(server)).pair;
		const id = await createExecution(server);
		const ws = await WsClient.connect(server.wsUrl, { headers: { cookie } });
		await ws.subscribe(id, 0);
		const sse = await SseClient.open(`${server.url}/api/sse`, { headers: { cookie } });
		const stream = await SseClient.open(`${server.url}/api/executions/${id}/stream`, { headers: { cookie } });
		await sse.waitFor(() => sse.messages.length >= 1, 5_000, 'the session message');

		const out = await raw(server, '/logout', { method: 'POST', headers: { cookie, origin: server.url } });
		expect(out.status).toBe(303);
		expect(out.headers.get('location')).toBe('/login');
		expect(setCookie(out).pair).toMatch(/^runwatch_session=;?/);

		expect((await ws.waitForClose(5_000)).code).toBe(4403);
		await Promise.all([sse.done, stream.done]);
		expect(sse.json.at(-1)).toMatchObject({ type: 'error', code: 'forbidden' });
		expect(stream.messages.at(-1)).toMatchObject({ event: 'error' });
		expect(JSON.parse(stream.messages.at(-1)!.data)).toMatchObject({ type: 'error', code: 'forbidden', executionId: id });

		expect((await raw(server, '/api/executions', { headers: { cookie } })).status).toBe(401);
		expect((await raw(server, '/', { headers: { cookie } })).status).toBe(303);
		// A new socket with the old cookie is closed with 4403 at once: the browser sees why.
		const again = await WsClient.connect(server.wsUrl, { headers: { cookie } });
		expect((await again.waitForClose(5_000)).code).toBe(4403);
	});

	test('a sign-out form posted from another origin is refused', async () => {
		const cookie = setCookie(await signIn(server)).pair;
		const forged = await raw(server, '/logout', {
			method: 'POST',
			headers: { cookie, origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
			body: ''
		});
		expect(forged.status).toBe(403);
		expect((await raw(server, '/api/executions', { headers: { cookie } })).status).toBe(200);
	});
});

describe('share links', () => {
	let server: TestServer;
	beforeAll(async () => {
		server = await TestServer.start({ env: { RUNWATCH_VIEWER_TOKEN: VIEWER_TOKEN } });
	});
	afterAll(async () => {
		await server?.cleanup();
	});

	async function share(id: string, body: object = {}): Promise<{ id: string; url: string; expiresAt?: string; token: string }> {
		const response = await request(server, 'POST', `/api/executions/${id}/shares`, { body });
		expect(response.status, JSON.stringify(response.body)).toBe(201);
		return { ...response.body, token: response.body.url.split('/s/')[1] };
	}

	test('create, list and revoke by API; bad expiries and strangers are refused', async () => {
		const id = await createExecution(server);
		const made = await share(id, { expiresInSeconds: 3600 });
		expect(made.url).toBe(`${server.url}/s/${made.token}`);
		expect(made.token).toMatch(/^rws_/);
		expect(Date.parse(made.expiresAt!) - Date.now()).toBeGreaterThan(3500_000);
		const forever = await share(id);
		expect(forever.expiresAt).toBeUndefined();

		const list = await request(server, 'GET', `/api/executions/${id}/shares`);
		expect(list.body.shares.map((s: { id: string }) => s.id)).toEqual([forever.id, made.id]);
		expect(JSON.stringify(list.body)).not.toContain('rws_');

		for (const expiresInSeconds of [0, -5, 1.5, 10 ** 9, 'soon']) {
			const bad = await request(server, 'POST', `/api/executions/${id}/shares`, { body: { expiresInSeconds } });
			expect(bad.status, String(expiresInSeconds)).toBe(400);
		}
		expect((await request(server, 'POST', `/api/executions/${id}/shares`, { body: {}, auth: false })).status).toBe(401);
		expect((await request(server, 'POST', '/api/executions/no-such/shares', { body: {} })).status).toBe(404);

		expect((await request(server, 'DELETE', `/api/executions/${id}/shares/${made.id}`)).status).toBe(204);
		expect((await request(server, 'DELETE', `/api/executions/${id}/shares/nope`)).status).toBe(404);
		const after = await request(server, 'GET', `/api/executions/${id}/shares`);
		expect(after.body.shares.find((s: { id: string }) => s.id === made.id)).toMatchObject({ active: false, revokedAt: expect.any(String) });
	});

	test('/s/<token> sets a cookie for that share and redirects to the page; it opens that execution only, read-only', async () => {
		const id = await createExecution(server, { agent: { name: 'shared-agent' } });
		const other = await createExecution(server);
		await postEvents(server, id, [{ type: 'agent-start' }, { type: 'output', data: { text: 'hello\n' } }]);
		const link = await share(id);

		const opened = await raw(server, `/s/${link.token}`);
		expect(opened.status).toBe(303);
		expect(opened.headers.get('location')).toBe(`/executions/${id}`);
		expect(opened.headers.get('referrer-policy')).toBe('no-referrer');
		const { pair: cookie, attributes } = setCookie(opened);
		expect(cookie).toBe(`runwatch_share_${link.id}=${link.token}`);
		expect(attributes).toMatch(/HttpOnly/i);
		expect(attributes).toMatch(/SameSite=Lax/i);
		const headers = { cookie };

		const page = await raw(server, `/executions/${id}`, { headers });
		expect(page.status).toBe(200);
		expect(await page.text()).toContain('Shared view');
		expect((await raw(server, `/api/executions/${id}`, { headers })).status).toBe(200);
		expect((await raw(server, `/api/executions/${id}/events`, { headers })).status).toBe(200);
		expect((await raw(server, `/executions/${id}/events.ndjson`, { headers })).status).toBe(200);
		const stream = await SseClient.open(`${server.url}/api/executions/${id}/stream`, { headers });
		await stream.waitFor(() => stream.messages.length === 2, 5_000, 'two events');
		stream.abort();

		// Nothing else: the list, another execution, any write.
		expect((await raw(server, '/', { headers })).status).toBe(403);
		expect((await raw(server, `/executions/${other}`, { headers })).status).toBe(403);
		for (const path of ['/api/executions', `/api/executions/${other}`, `/api/executions/${other}/events`]) {
			const refused = await raw(server, path, { headers });
			expect(refused.status, path).toBe(403);
			expect((await refused.json()).error.code).toBe('forbidden');
		}
		const write = (path: string) =>
			raw(server, path, { method: 'POST', headers: { ...headers, origin: server.url, 'content-type': 'application/json' }, body: '{}' });
		expect((await write(`/api/executions/${id}/cancel`)).status).toBe(403);
		expect((await write(`/api/executions/${id}/shares`)).status).toBe(403);
		expect((await raw(server, `/api/executions/${id}/shares`, { headers })).status).toBe(403);

		// The token works as a bearer on the JSON and SSE endpoints too.
		const bearer = { authorization: `Bearer ${link.token}` };
		expect((await raw(server, `/api/executions/${id}`, { headers: bearer })).status).toBe(200);
		expect((await raw(server, `/api/executions/${other}`, { headers: bearer })).status).toBe(403);

		// Over the WebSocket: its execution, nothing else.
		const ws = await WsClient.connect(server.wsUrl, { headers });
		await ws.subscribe(id, 0);
		await ws.waitForSeq(id, 2);
		ws.send({ type: 'subscribe', executionId: other });
		await ws.waitUntil(() => ws.frames.some((f) => f.type === 'error' && f.code === 'forbidden' && f.executionId === other), 'forbidden');
		ws.close();
	});

	test('revoking closes live connections (4403, SSE forbidden) and the link stops working', async () => {
		const id = await createExecution(server);
		const link = await share(id);
		const headers = { cookie: `runwatch_share_${link.id}=${link.token}` };
		const ws = await WsClient.connect(server.wsUrl, { headers });
		await ws.subscribe(id, 0);
		const stream = await SseClient.open(`${server.url}/api/executions/${id}/stream`, { headers });
		const dashboard = await SseClient.open(`${server.url}/api/sse`, { headers });
		await dashboard.waitFor(() => dashboard.messages.length >= 1, 5_000, 'the session message');

		expect((await request(server, 'DELETE', `/api/executions/${id}/shares/${link.id}`)).status).toBe(204);
		expect((await ws.waitForClose(5_000)).code).toBe(4403);
		await Promise.all([stream.done, dashboard.done]);
		expect(JSON.parse(stream.messages.at(-1)!.data)).toMatchObject({ code: 'forbidden' });
		expect(dashboard.json.at(-1)).toMatchObject({ type: 'error', code: 'forbidden' });

		expect((await raw(server, `/s/${link.token}`)).status).toBe(404);
		expect((await raw(server, `/api/executions/${id}`, { headers })).status).toBe(401);
	});

	test('an expiring link closes its live connections when it expires', async () => {
		const id = await createExecution(server);
		const link = await share(id, { expiresInSeconds: 2 });
		const ws = await WsClient.connect(server.wsUrl, { headers: { authorization: `Bearer ${link.token}` } });
		await ws.subscribe(id, 0);
		expect((await ws.waitForClose(10_000)).code).toBe(4403);
		expect((await raw(server, `/s/${link.token}`)).status).toBe(404);
	});

	test('tokens are stored hashed: the database holds no share or session token', async () => {
		const id = await createExecution(server);
		const link = await share(id);
		const cookie = setCookie(await signIn(server)).pair;
		const sessionToken = decodeURIComponent(cookie.split('=')[1]!).split('.')[0]!;
		const db = new Database(join(server.dataDir, 'runwatch.sqlite'), { readonly: true });
		try {
			const dump = JSON.stringify([db.prepare('SELECT * FROM shares').all(), db.prepare('SELECT * FROM viewer_sessions').all()]);
			expect(dump).not.toContain(link.token);
			expect(dump).not.toContain(sessionToken);
			expect(dump).toContain(link.id);
		} finally {
			db.close();
		}
	});
});

describe('listening beyond loopback', () => {
	test('without RUNWATCH_VIEWER_TOKEN the server generates one, keeps it, and prints it with a reachable address', async () => {
		const server = await TestServer.start({ env: { HOST: '0.0.0.0' } });
		try {
			const token = readFileSync(join(server.dataDir, 'viewer-token'), 'utf8').trim();
			expect(token).toMatch(/^rwv_/);
			expect(server.output).toContain(token);
			expect(server.output).toMatch(/Viewers sign in at http:\/\/[^ ]+\/login/);
			expect(server.output).not.toContain('http://0.0.0.0');
			expect((await raw(server, '/')).status).toBe(303);
			expect((await raw(server, '/api/executions')).status).toBe(401);
			expect((await raw(server, '/api/executions', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
			// The same token after a restart.
			await server.stop();
			await server.restart();
			expect(readFileSync(join(server.dataDir, 'viewer-token'), 'utf8').trim()).toBe(token);
		} finally {
			await server.cleanup();
		}
	});
});
