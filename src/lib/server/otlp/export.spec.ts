import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { MAX_BATCH_EVENTS, MAX_OTLP_BODY_BYTES } from '../../protocol/limits.js';
import { RunwatchError } from '../errors.js';
import { Access } from '../access/access.js';
import { Hub } from '../hub/hub.js';
import { Ingest } from '../ingest/ingest.js';
import { createSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { exportTraces, tryFastTraces } from './export.js';
import { decodeRpcStatus, decodeTraceResponse } from './proto.js';
import { agentTrace, jsonBytes, protobufBytes } from './testing/sdk-spans.js';

/*
 * The handler against the real ingest module, store and hub (SQLite in memory). The HTTP server
 * around it is covered by tests/integration/otlp.test.ts.
 */

const TOKEN = 'otlp-test-token-0123456789';
const JSON_TYPE = { 'content-type': 'application/json' };
const PROTOBUF_TYPE = { 'content-type': 'application/x-protobuf' };

let store: Store;
let hub: Hub;
let ingest: Ingest;
let draining: boolean;

beforeEach(() => {
	store = createSqliteStore({ file: ':memory:' });
	hub = new Hub({ store });
	draining = false;
	const admit = () => {
		if (draining) throw new RunwatchError('shutting_down', 'Server is shutting down');
		return () => {};
	};
	ingest = new Ingest({ store, publisher: hub, access: new Access({ ingestToken: TOKEN, host: '127.0.0.1', store }), admit });
});

afterEach(async () => {
	hub.close();
	await store.close();
});

function post(body: Uint8Array | string, headers: Record<string, string>, token: string | null = TOKEN): Promise<Response> {
	const request = new Request('http://127.0.0.1/v1/traces', {
		method: 'POST',
		body: typeof body === 'string' ? body : new Uint8Array(body),
		headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) }
	});
	return exportTraces(ingest, request);
}

async function bytesOf(response: Response): Promise<Uint8Array> {
	return new Uint8Array(await response.arrayBuffer());
}

describe('exportTraces', () => {
	test('protobuf: 200 with an empty protobuf response; the trace is stored as an execution', async () => {
		const { spans, traceId } = await agentTrace();
		const response = await post(protobufBytes(spans), PROTOBUF_TYPE);
		expect(response.status).toBe(200);
		expect(response.headers.get('content-type')).toBe('application/x-protobuf');
		expect((await bytesOf(response)).byteLength).toBe(0);
		const execution = await store.getExecution(traceId);
		expect(execution).toMatchObject({ agent: { name: 'researcher' }, status: 'completed', lastSeq: 11, usage: { inputTokens: 250, outputTokens: 50 } });
	});

	test('JSON: 200 with {}', async () => {
		const { spans, traceId } = await agentTrace({ fail: true });
		const response = await post(jsonBytes(spans), JSON_TYPE);
		expect(response.status).toBe(200);
		expect(response.headers.get('content-type')).toBe('application/json');
		expect(await response.json()).toEqual({});
		expect(await store.getExecution(traceId)).toMatchObject({ status: 'failed', error: 'agent gave up' });
	});

	test('the same spans twice, in either encoding, are stored once; events are published once', async () => {
		const { spans, traceId } = await agentTrace();
		const published: number[] = [];
		const unsubscribe = hub.watchExecution(traceId, (execution) => published.push(execution.lastSeq));
		await post(jsonBytes(spans), JSON_TYPE);
		const news = published.length;
		expect(published.at(-1)).toBe(11);
		await post(protobufBytes(spans), PROTOBUF_TYPE);
		await post(gzipSync(protobufBytes(spans)), { ...PROTOBUF_TYPE, 'content-encoding': 'gzip' });
		unsubscribe();
		expect(published).toHaveLength(news); // the repeats changed nothing, so nobody was told anything
		const events = await store.readEvents(traceId, 0, 100);
		expect(events).toHaveLength(11);
		expect(new Set(events.map((event) => event.id)).size).toBe(11);
		expect((await store.getExecution(traceId))!.usage.inputTokens).toBe(250);
	});

	test('children first, the root in a later request: nothing lost, the root ends it', async () => {
		const { spans, traceId, ids } = await agentTrace();
		const root = spans.filter((span) => span.spanContext().spanId === ids.root);
		const children = spans.filter((span) => span.spanContext().spanId !== ids.root);
		await post(protobufBytes(children), PROTOBUF_TYPE);
		expect((await store.getExecution(traceId))!.status).toBe('running');
		await post(protobufBytes(root), PROTOBUF_TYPE);
		const execution = await store.getExecution(traceId);
		expect(execution).toMatchObject({ status: 'completed', lastSeq: 11, usage: { inputTokens: 250, outputTokens: 50 } });
	});

	test('a trace of more events than one batch holds is stored whole, in several appends', async () => {
		const traceId = 'c'.repeat(32);
		const spans = Array.from({ length: 600 }, (_, i) => ({
			traceId,
			spanId: (i + 1).toString(16).padStart(16, '0'),
			parentSpanId: i === 0 ? undefined : '0000000000000001',
			name: `s${i}`,
			startTimeUnixNano: String(1_000_000_000_000 + i),
			endTimeUnixNano: String(2_000_000_000_000 - i)
		}));
		const response = await post(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }), JSON_TYPE);
		expect(await response.json()).toEqual({});
		expect(1201).toBeGreaterThan(MAX_BATCH_EVENTS);
		const execution = await store.getExecution(traceId);
		expect(execution).toMatchObject({ lastSeq: 1201, status: 'completed', agent: { name: 'otel' } });
	});

	test('invalid spans are refused and counted (JSON partialSuccess); the rest are stored', async () => {
		const good = { traceId: 'd'.repeat(32), spanId: '1'.repeat(16), name: 'ok', startTimeUnixNano: '1000000000', endTimeUnixNano: '2000000000' };
		const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [good, { ...good, spanId: 'nothex!!nothex!!' }, { ...good, spanId: '2'.repeat(16), startTimeUnixNano: undefined }] }] }] });
		const response = await post(body, JSON_TYPE);
		expect(response.status).toBe(200);
		const answer = (await response.json()) as { partialSuccess: { rejectedSpans: number; errorMessage: string } };
		expect(answer.partialSuccess.rejectedSpans).toBe(2);
		expect(answer.partialSuccess.errorMessage).toMatch(/^2 spans refused: resourceSpans\.0\.scopeSpans\.0\.spans\.1: spanId: must be 16 hex digits; resourceSpans\.0\.scopeSpans\.0\.spans\.2: startTimeUnixNano/);
		expect((await store.getExecution('d'.repeat(32)))!.lastSeq).toBe(3);
	});

	test('partialSuccess in protobuf for a protobuf request', async () => {
		const { spans } = await agentTrace();
		// A valid request with one more span whose span id is 3 bytes long, appended on the wire.
		const badSpan = Buffer.from([0x0a, 0x10, ...Buffer.alloc(16, 0xab), 0x12, 0x03, 1, 2, 3]);
		const scopeSpans = Buffer.concat([Buffer.from([0x12, badSpan.length]), badSpan]);
		const resourceSpans = Buffer.concat([Buffer.from([0x12, scopeSpans.length]), scopeSpans]);
		const body = Buffer.concat([protobufBytes(spans), Buffer.from([0x0a, resourceSpans.length]), resourceSpans]);
		const response = await post(body, PROTOBUF_TYPE);
		expect(response.status).toBe(200);
		const answer = decodeTraceResponse(await bytesOf(response));
		expect(answer.partialSuccess).toMatchObject({ rejectedSpans: '1' });
		expect(answer.partialSuccess!.errorMessage).toMatch(/spanId: must be 16 hex digits/);
	});
});

describe('exportTraces refusals (a google.rpc.Status in the request’s encoding)', () => {
	test('401 without the token, before the body is read', async () => {
		const response = await post('{not json', JSON_TYPE, null);
		expect(response.status).toBe(401);
		expect(await response.json()).toEqual({ code: 16, message: expect.stringMatching(/ingest token/) });
	});

	test('401 with a wrong token, in protobuf', async () => {
		const response = await post(new Uint8Array(), PROTOBUF_TYPE, 'wrong-token-0123456789');
		expect(response.status).toBe(401);
		expect(response.headers.get('content-type')).toBe('application/x-protobuf');
		expect(decodeRpcStatus(await bytesOf(response))).toMatchObject({ code: 16, message: expect.stringMatching(/ingest token/) });
	});

	test('415 for another content type (answered in JSON)', async () => {
		const response = await post('x', { 'content-type': 'text/plain' });
		expect(response.status).toBe(415);
		expect(await response.json()).toEqual({ code: 3, message: expect.stringMatching(/application\/x-protobuf.*text\/plain/) });
	});

	test('400 for malformed JSON and protobuf', async () => {
		const json = await post('{"resourceSpans":[', JSON_TYPE);
		expect(json.status).toBe(400);
		expect(await json.json()).toEqual({ code: 3, message: expect.stringMatching(/not valid JSON/) });
		const protobuf = await post(new Uint8Array([0x0a, 0x05, 0x01]), PROTOBUF_TYPE);
		expect(protobuf.status).toBe(400);
		expect(decodeRpcStatus(await bytesOf(protobuf))).toMatchObject({ code: 3, message: expect.stringMatching(/protobuf/) });
	});

	test('503 with Retry-After while the server shuts down (exporters retry those)', async () => {
		const { spans } = await agentTrace();
		draining = true;
		const response = await post(protobufBytes(spans), PROTOBUF_TYPE);
		expect(response.status).toBe(503);
		expect(response.headers.get('retry-after')).toBe('1');
		expect(decodeRpcStatus(await bytesOf(response))).toMatchObject({ code: 14 });
	});
});

// The production server takes POST /v1/traces before SvelteKit (`tryFastTraces`, on a real Node
// HTTP server here): every answer must be the route's, byte for byte.
describe('tryFastTraces: the Node path answers as the route does', () => {
	let server: Server;
	let base: string;
	beforeEach(async () => {
		server = createServer((request, response) => {
			if (!tryFastTraces(ingest, request, response)) response.writeHead(404).end('not taken');
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	});
	afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

	/** The same request through the route (`exportTraces`) and the Node path; both answers. */
	async function both(body: Uint8Array | string, headers: Record<string, string>, token: string | null = TOKEN) {
		const route = await post(body, headers, token);
		const node = await fetch(`${base}/v1/traces`, {
			method: 'POST',
			body: typeof body === 'string' ? body : new Uint8Array(body),
			headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) }
		});
		const answer = async (response: Response) => ({
			status: response.status,
			type: response.headers.get('content-type'),
			retryAfter: response.headers.get('retry-after'),
			body: Buffer.from(await response.arrayBuffer()).toString('base64')
		});
		return { route: await answer(route), node: await answer(node) };
	}

	test('a trace in protobuf, in gzipped JSON, and again (stored once): the same 200s; the events stored once', async () => {
		const { spans, traceId } = await agentTrace();
		const protobuf = await both(protobufBytes(spans), PROTOBUF_TYPE);
		expect(protobuf.node).toEqual(protobuf.route);
		expect(protobuf.node.status).toBe(200);
		const json = await both(gzipSync(jsonBytes(spans)), { ...JSON_TYPE, 'content-encoding': 'gzip' });
		expect(json.node).toEqual(json.route);
		expect(json.node.status).toBe(200);
		expect((await store.readEvents(traceId, 0, 100)).map((event) => event.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
	});

	test('refusals: no token, a wrong type, an unknown Content-Encoding, a body too big, not OTLP at all', async () => {
		const { spans } = await agentTrace();
		const cases: [Uint8Array | string, Record<string, string>, string | null][] = [
			[protobufBytes(spans), PROTOBUF_TYPE, null],
			[jsonBytes(spans), { 'content-type': 'text/plain' }, TOKEN],
			[jsonBytes(spans), { ...JSON_TYPE, 'content-encoding': 'br' }, TOKEN],
			[new Uint8Array(MAX_OTLP_BODY_BYTES + 1), PROTOBUF_TYPE, TOKEN],
			['{"resourceSpans": 3}', JSON_TYPE, TOKEN],
			[new Uint8Array([0xff, 0xff, 0xff]), PROTOBUF_TYPE, TOKEN]
		];
		const statuses = [];
		for (const [body, headers, token] of cases) {
			const { route, node } = await both(body, headers, token);
			expect(node).toEqual(route);
			statuses.push(node.status);
		}
		expect(statuses).toEqual([401, 415, 415, 413, 400, 400]);
	});

	test('only POST /v1/traces is taken (a query string allowed)', async () => {
		expect((await fetch(`${base}/v1/traces`)).status).toBe(404);
		expect((await fetch(`${base}/v1/tracesx`, { method: 'POST', body: '{}', headers: JSON_TYPE })).status).toBe(404);
		expect((await fetch(`${base}/v1/traces?x=1`, { method: 'POST', body: '{}', headers: { ...JSON_TYPE, authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
	});
});
