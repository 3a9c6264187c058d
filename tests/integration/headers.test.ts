// Security headers on every kind of response (pages, JSON, SSE, NDJSON, the ingest fast path
// and the SvelteKit route behind it, static files, a refused WebSocket upgrade), and
// RUNWATCH_FRAME_ANCESTORS: applied when set, startup refused when malformed.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createExecution, postEvents } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';

/** Status and headers of a GET, without waiting for a body that may never end (SSE). */
async function headersOf(server: TestServer, path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers }> {
	const controller = new AbortController();
	const response = await fetch(server.url + path, { ...init, signal: controller.signal });
	controller.abort();
	return { status: response.status, headers: response.headers };
}

/** The raw head of a GET (names lower-cased, repeats kept), without waiting for a body that may never end. */
function rawHeadOf(server: TestServer, path: string, headers: Record<string, string> = {}): Promise<[string, string][]> {
	return new Promise((resolve, reject) => {
		const req = httpRequest({ host: '127.0.0.1', port: server.port, path, headers, agent: false }, (response) => {
			const raw: [string, string][] = [];
			for (let i = 0; i < response.rawHeaders.length; i += 2) raw.push([response.rawHeaders[i]!.toLowerCase(), response.rawHeaders[i + 1]!]);
			response.destroy();
			resolve(raw);
		});
		req.on('error', reject);
		req.end();
	});
}

/** A WebSocket upgrade the server refuses (a foreign Origin): its raw status and headers. */
function refusedUpgrade(server: TestServer): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
	return new Promise((resolve, reject) => {
		const req = httpRequest({
			host: '127.0.0.1',
			port: server.port,
			path: '/api/ws',
			headers: { connection: 'Upgrade', upgrade: 'websocket', origin: 'http://elsewhere.example', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' }
		});
		req.on('response', (response) => {
			response.resume();
			resolve({ status: response.statusCode!, headers: response.headers });
		});
		req.on('upgrade', () => reject(new Error('upgrade accepted')));
		req.on('error', reject);
		req.end();
	});
}

function expectCommonHeaders(headers: Headers, what: string): void {
	expect(headers.get('x-content-type-options'), what).toBe('nosniff');
	expect(headers.get('referrer-policy'), what).toBe('same-origin');
	expect(headers.get('content-security-policy'), what).toMatch(/frame-ancestors 'none'/);
}

/** The page policy's directives by name. */
function directives(csp: string): Map<string, string[]> {
	return new Map(
		csp
			.split(';')
			.map((part) => part.trim().split(/\s+/))
			.filter((words) => words[0])
			.map(([name, ...values]) => [name!, values])
	);
}

describe.each(['on', 'off'])('security headers (ingest fast path %s)', (fastPath) => {
	let server: TestServer;
	let id: string;
	beforeAll(async () => {
		server = await TestServer.start({ env: { RUNWATCH_INGEST_FAST_PATH: fastPath } });
		id = await createExecution(server);
		await postEvents(server, id, { type: 'output', data: { text: 'hello' } });
	});
	afterAll(async () => {
		await server?.cleanup();
	});

	test('pages: a CSP with a nonce for scripts and no unsafe-inline for them, frame-ancestors, nosniff, Referrer-Policy', async () => {
		for (const path of ['/', `/executions/${id}`, '/executions/no-such-run', '/no/such/page']) {
			const { status, headers } = await headersOf(server, path);
			expect(headers.get('content-type'), path).toMatch(/^text\/html/);
			expect([200, 404], path).toContain(status);
			expectCommonHeaders(headers, path);
			const csp = directives(headers.get('content-security-policy')!);
			const scripts = csp.get('script-src')!;
			expect(scripts, path).toContain("'self'");
			expect(scripts.some((s) => s.startsWith("'nonce-")), path).toBe(true);
			expect(scripts, path).not.toContain("'unsafe-inline'");
			expect(csp.get('style-src'), path).not.toContain("'unsafe-inline'");
			expect(csp.get('object-src'), path).toEqual(["'none'"]);
			expect(csp.get('base-uri'), path).toEqual(["'self'"]);
			expect(csp.get('form-action'), path).toEqual(["'self'"]);
			expect(csp.get('connect-src'), path).toEqual(["'self'"]);
			expect(csp.get('img-src'), path).toEqual(["'self'", 'data:']);
			expect(csp.get('frame-ancestors'), path).toEqual(["'none'"]);
		}
	});

	test('JSON, SSE, NDJSON, static files: nosniff, Referrer-Policy and an inert CSP', async () => {
		const cases: [string, RequestInit?][] = [
			['/api/executions'],
			[`/api/executions/${id}`],
			['/api/nothing-here'],
			[`/api/executions/${id}/stream`, { headers: { accept: 'text/event-stream' } }],
			['/api/sse', { headers: { accept: 'text/event-stream' } }],
			[`/executions/${id}/events.ndjson`],
			['/favicon.svg']
		];
		for (const [path, init] of cases) {
			const { status, headers } = await headersOf(server, path, init);
			expect(status, path).toBeLessThan(500);
			expectCommonHeaders(headers, path);
			expect(headers.get('content-security-policy'), path).toMatch(/default-src 'none'/);
		}
	});

	test('each security header is sent once, pages and streams included', async () => {
		for (const path of ['/', `/executions/${id}`, '/api/executions', `/api/executions/${id}/stream`, '/api/sse', '/favicon.svg', '/no/such/page']) {
			const raw = await rawHeadOf(server, path, { accept: path.includes('stream') || path === '/api/sse' ? 'text/event-stream' : '*/*' });
			for (const name of ['x-content-type-options', 'referrer-policy', 'content-security-policy']) {
				expect(raw.filter(([n]) => n === name), `${name} on ${path}`).toHaveLength(1);
			}
		}
	});

	test('OpenTelemetry answers (accepted, refused) carry them too', async () => {
		const post = (headers: Record<string, string>, body: string) => fetch(`${server.url}/v1/traces`, { method: 'POST', headers, body });
		const accepted = await post({ ...server.auth, 'content-type': 'application/json' }, JSON.stringify({ resourceSpans: [] }));
		expect(accepted.status).toBe(200);
		expectCommonHeaders(accepted.headers, 'accepted OTLP');
		const unauthorised = await post({ 'content-type': 'application/json' }, '{}');
		expect(unauthorised.status).toBe(401);
		expectCommonHeaders(unauthorised.headers, 'refused OTLP');
		const unsupported = await post({ ...server.auth, 'content-type': 'text/plain' }, 'x');
		expect(unsupported.status).toBe(415);
		expectCommonHeaders(unsupported.headers, 'OTLP of an unsupported type');
	});

	test('ingest answers (accepted, refused) carry them too', async () => {
		const post = (headers: Record<string, string>, body: string) =>
			fetch(`${server.url}/api/executions/${id}/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
		const accepted = await post(server.auth, JSON.stringify({ type: 'log', data: { level: 'info', message: 'x' } }));
		expect(accepted.status).toBe(200);
		expectCommonHeaders(accepted.headers, 'accepted ingest');
		const unauthorised = await post({}, '{}');
		expect(unauthorised.status).toBe(401);
		expectCommonHeaders(unauthorised.headers, 'refused ingest');
		const created = await fetch(`${server.url}/api/executions`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...server.auth },
			body: JSON.stringify({ agent: 'a' })
		});
		expect(created.status).toBe(201);
		expectCommonHeaders(created.headers, 'create');
	});

	test('a refused WebSocket upgrade carries nosniff and Referrer-Policy', async () => {
		const { status, headers } = await refusedUpgrade(server);
		expect(status).toBe(403);
		expect(headers['x-content-type-options']).toBe('nosniff');
		expect(headers['referrer-policy']).toBe('same-origin');
	});
});

describe('RUNWATCH_FRAME_ANCESTORS', () => {
	const servers: TestServer[] = [];
	afterAll(async () => {
		for (const server of servers) await server.cleanup();
	});

	test('a list of origins reaches every response, pages and API alike', async () => {
		const server = await TestServer.start({ env: { RUNWATCH_FRAME_ANCESTORS: "'self' https://wiki.example.com" } });
		servers.push(server);
		for (const path of ['/', '/api/executions']) {
			const { headers } = await headersOf(server, path);
			expect(headers.get('content-security-policy'), path).toMatch(/frame-ancestors 'self' https:\/\/wiki\.example\.com$/);
		}
	});

	test('a malformed value stops startup with a sentence naming the variable', async () => {
		const error = await TestServer.start({ env: { RUNWATCH_FRAME_ANCESTORS: "'none'; script-src *" } }).then(
			(server) => {
				servers.push(server);
				return undefined;
			},
			(e: Error) => e
		);
		expect(error?.message).toMatch(/server exited during start \(\{"code":1,/);
		expect(error?.message).toMatch(/Runwatch could not start: RUNWATCH_FRAME_ANCESTORS must be 'none' \(the default\), 'self', or origins/);
	});
});
