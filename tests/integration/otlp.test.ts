import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_OTLP_BODY_BYTES } from '../../src/lib/protocol/limits.js';
import { decodeRpcStatus, decodeTraceResponse } from '../../src/lib/server/otlp/proto.js';
import { readAllEvents, request } from '../helpers/api.js';
import { ROOT, TestServer } from '../helpers/server.js';

// OpenTelemetry in: a real agent process with the real SDK and both OTLP/HTTP exporters,
// configured only by the OTEL_* environment variables, against the production server.

const AGENT = new URL('./fixtures/otlp-agent.mjs', import.meta.url).pathname;

let server: TestServer;
let routed: TestServer;
beforeAll(async () => {
	[server, routed] = await Promise.all([TestServer.start(), TestServer.start({ env: { RUNWATCH_INGEST_FAST_PATH: 'off' } })]);
});
afterAll(async () => {
	await Promise.all([server?.cleanup(), routed?.cleanup()]);
});

/** Runs the agent with the environment a user would set; resolves with its trace id. */
async function runAgent(env: Record<string, string>): Promise<string> {
	const { stdout } = await promisify(execFile)(process.execPath, [AGENT], {
		cwd: ROOT,
		timeout: 60_000,
		env: {
			PATH: process.env.PATH ?? '',
			OTEL_EXPORTER_OTLP_ENDPOINT: server.url,
			// The spec's form: a URL-encoded value (a space is %20).
			OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer%20${server.token}`,
			OTEL_SERVICE_NAME: 'otlp-agent-service',
			...env
		}
	});
	return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { traceId: string }).traceId;
}

interface StoredEvent {
	seq: number;
	id: string;
	type: string;
	stepId?: string;
	parentStepId?: string;
	data?: any;
}

/** The steps of an execution: name → { kind, parent's name, error }. */
function steps(events: StoredEvent[]) {
	const names = new Map(events.filter((e) => e.type === 'step-start').map((e) => [e.stepId, e.data.name as string]));
	const ends = new Map(events.filter((e) => e.type === 'step-end').map((e) => [e.stepId, e.data]));
	return events
		.filter((e) => e.type === 'step-start')
		.map((e) => ({
			name: e.data.name,
			kind: e.data.kind,
			parent: e.parentStepId ? names.get(e.parentStepId) : undefined,
			error: ends.get(e.stepId)?.error?.message
		}))
		.sort((a, b) => `${a.name}${a.error}`.localeCompare(`${b.name}${b.error}`));
}

const EXPECTED_STEPS = [
	{ name: 'chat gpt-test', kind: 'llm', parent: 'invoke_agent researcher', error: undefined },
	{ name: 'chat gpt-test', kind: 'llm', parent: 'invoke_agent researcher', error: undefined },
	{ name: 'execute_tool fetch', kind: 'tool', parent: 'invoke_agent researcher', error: 'fetch failed: 404' },
	{ name: 'execute_tool search', kind: 'tool', parent: 'invoke_agent researcher', error: undefined },
	{ name: 'invoke_agent researcher', kind: 'agent', parent: undefined, error: undefined }
];

describe('the OpenTelemetry SDK, configured by OTEL_* variables', () => {
	test('http/json: the trace is one completed execution; every span sent twice is stored once', async () => {
		const traceId = await runAgent({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', AGENT_EXPORT_TWICE: '1' });
		expect(traceId).toMatch(/^[0-9a-f]{32}$/);
		const { status, body } = await request(server, 'GET', `/api/executions/${traceId}`);
		expect(status).toBe(200);
		expect(body.execution).toMatchObject({
			id: traceId,
			agent: { name: 'researcher', model: 'gpt-test' },
			metadata: { source: 'otlp', 'service.name': 'otlp-agent-service' },
			status: 'completed',
			usage: { inputTokens: 250, outputTokens: 50 }
		});
		const events = (await readAllEvents(server, traceId)) as StoredEvent[];
		// 5 spans × (start, end) + agent-complete, although every span arrived twice.
		expect(events).toHaveLength(11);
		expect(new Set(events.map((e) => e.id)).size).toBe(11);
		expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
		expect(steps(events)).toEqual(EXPECTED_STEPS);
		expect(events.filter((e) => e.type === 'agent-complete')).toHaveLength(1);
		const tool = events.find((e) => e.type === 'step-start' && e.data.tool === 'search')!;
		expect(tool.data.input).toEqual({ q: 'otlp' });
		expect(tool.id).toBe(`otel-${tool.stepId}-start`);
	});

	test('http/protobuf with gzip: a failing root fails the execution', async () => {
		const traceId = await runAgent({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', AGENT_FAIL: '1' });
		const { body } = await request(server, 'GET', `/api/executions/${traceId}`);
		expect(body.execution).toMatchObject({ id: traceId, agent: { name: 'researcher' }, status: 'failed', error: 'agent gave up', usage: { inputTokens: 250, outputTokens: 50 } });
		const events = (await readAllEvents(server, traceId)) as StoredEvent[];
		expect(events).toHaveLength(11);
		expect(events.at(-1)).toMatchObject({ type: 'error', data: { message: 'agent gave up' } });
		expect(steps(events)).toEqual(EXPECTED_STEPS.map((step) => (step.kind === 'agent' ? { ...step, error: 'agent gave up' } : step)));
	});

	test('http/protobuf, one request per span (children first), each sent twice: stored once, nested right', async () => {
		const traceId = await runAgent({ AGENT_SPAN_PROCESSOR: 'simple', AGENT_EXPORT_TWICE: '1' });
		const { body } = await request(server, 'GET', `/api/executions/${traceId}`);
		expect(body.execution).toMatchObject({
			// The first request of a trace creates its execution; here that is a child span's,
			// without gen_ai.agent.name, so the resource's service.name names it (docs/protocol.md).
			agent: { name: 'otlp-agent-service' },
			status: 'completed',
			lastSeq: 11,
			usage: { inputTokens: 250, outputTokens: 50 }
		});
		const events = (await readAllEvents(server, traceId)) as StoredEvent[];
		expect(steps(events)).toEqual(EXPECTED_STEPS);
		expect(events[0]).toMatchObject({ type: 'step-start', data: { name: 'chat gpt-test' } });
		expect(events.at(-1)).toMatchObject({ type: 'agent-complete' });
	});
});

// Both ways in: the Node fast path (the default) and the SvelteKit route (`vite dev`, and
// production with RUNWATCH_INGEST_FAST_PATH=off); the same answers from both.
describe.each([
	['the Node fast path', () => server],
	['the SvelteKit route', () => routed]
])('POST /v1/traces by hand, through %s', (_name, target) => {
	const post = (body: BodyInit, headers: Record<string, string>, auth = true) =>
		fetch(`${target().url}/v1/traces`, { method: 'POST', body, headers: { ...(auth ? target().auth : {}), ...headers } });
	const JSON_TYPE = { 'content-type': 'application/json' };
	const span = (overrides: Record<string, unknown> = {}) => ({
		traceId: 'e'.repeat(32),
		spanId: '1'.repeat(16),
		name: 'by hand',
		startTimeUnixNano: '1767323045000000000',
		endTimeUnixNano: '1767323046000000000',
		...overrides
	});
	const traces = (...spans: unknown[]) => JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] });

	test('401 without the token (JSON and protobuf)', async () => {
		const json = await post(traces(span()), JSON_TYPE, false);
		expect(json.status).toBe(401);
		expect(await json.json()).toMatchObject({ code: 16 });
		const protobuf = await post(new Uint8Array(), { 'content-type': 'application/x-protobuf' }, false);
		expect(protobuf.status).toBe(401);
		expect(decodeRpcStatus(new Uint8Array(await protobuf.arrayBuffer()))).toMatchObject({ code: 16 });
	});

	test('415 for another content type', async () => {
		const response = await post('hello', { 'content-type': 'text/plain' });
		expect(response.status).toBe(415);
		expect(await response.json()).toMatchObject({ code: 3 });
	});

	test('400 for malformed JSON and protobuf', async () => {
		const json = await post('{"resourceSpans": [', JSON_TYPE);
		expect(json.status).toBe(400);
		expect(await json.json()).toEqual({ code: 3, message: expect.stringMatching(/not valid JSON/) });
		const protobuf = await post(new Uint8Array([0x0a, 0x09, 0x12]), { 'content-type': 'application/x-protobuf' });
		expect(protobuf.status).toBe(400);
		expect(decodeRpcStatus(new Uint8Array(await protobuf.arrayBuffer()))).toMatchObject({ code: 3 });
	});

	test('partial success: an invalid span is refused and counted, the valid one stored', async () => {
		const response = await post(traces(span(), span({ spanId: '2'.repeat(16), endTimeUnixNano: undefined })), JSON_TYPE);
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({
			partialSuccess: { rejectedSpans: 1, errorMessage: expect.stringMatching(/spans\.1: endTimeUnixNano/) }
		});
		const { body } = await request(target(), 'GET', `/api/executions/${'e'.repeat(32)}`);
		expect(body.execution).toMatchObject({ agent: { name: 'otel' }, status: 'completed', lastSeq: 3 });
	});

	test('protobuf partial success for a protobuf request with only a bad span', async () => {
		// ExportTraceServiceRequest { resource_spans { scope_spans { spans { trace_id: 3 bytes } } } }
		const badSpan = [0x0a, 0x03, 1, 2, 3];
		const body = new Uint8Array([0x0a, badSpan.length + 4, 0x12, badSpan.length + 2, 0x12, badSpan.length, ...badSpan]);
		const response = await post(body, { 'content-type': 'application/x-protobuf' });
		expect(response.status).toBe(200);
		expect(response.headers.get('content-type')).toBe('application/x-protobuf');
		expect(decodeTraceResponse(new Uint8Array(await response.arrayBuffer())).partialSuccess).toMatchObject({ rejectedSpans: '1' });
	});

	test('413 for a body over the limit, and for gzip that inflates past it', async () => {
		const big = await post(new Uint8Array(MAX_OTLP_BODY_BYTES + 1), { 'content-type': 'application/x-protobuf' });
		expect(big.status).toBe(413);
		expect(decodeRpcStatus(new Uint8Array(await big.arrayBuffer()))).toMatchObject({ code: 8 });
		const bomb = gzipSync(Buffer.alloc(4 * MAX_OTLP_BODY_BYTES, ' '));
		const inflated = await post(bomb, { ...JSON_TYPE, 'content-encoding': 'gzip' });
		expect(inflated.status).toBe(413);
		expect(await inflated.json()).toEqual({ code: 8, message: expect.stringMatching(/once gzip is undone/) });
	});

	test('a gzipped JSON body by hand', async () => {
		const traceId = 'f'.repeat(32);
		const response = await post(gzipSync(traces(span({ traceId }))), { ...JSON_TYPE, 'content-encoding': 'gzip' });
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({});
		expect((await request(target(), 'GET', `/api/executions/${traceId}`)).body.execution.lastSeq).toBe(3);
	});
});

// The README's OpenTelemetry example is what a new user copies first: it runs here as written,
// with the environment the README gives it.
test("the README's OpenTelemetry example, as written, makes a completed execution with its steps and usage", async () => {
	const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
	const marker = readme.indexOf('<!-- tests/integration/otlp.test.ts runs this block as written -->');
	expect(marker).toBeGreaterThan(0);
	const block = /```js\n([\s\S]*?)```/.exec(readme.slice(marker))![1]!;
	// Inside the checkout, so that its imports resolve to the OpenTelemetry packages installed here.
	const dir = mkdtempSync(join(ROOT, '.test-readme-'));
	try {
		writeFileSync(join(dir, 'otel-agent.mjs'), block);
		const { stdout } = await promisify(execFile)(process.execPath, ['otel-agent.mjs'], {
			cwd: dir,
			timeout: 60_000,
			env: {
				PATH: process.env.PATH ?? '',
				RUNWATCH_URL: server.url,
				OTEL_EXPORTER_OTLP_ENDPOINT: server.url,
				OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer%20${server.token}`
			}
		});
		const url = /^watch at (\S+)$/m.exec(stdout)![1]!;
		const traceId = url.split('/executions/')[1]!;
		expect(url).toBe(`${server.url}/executions/${traceId}`);
		const { execution } = (await request(server, 'GET', `/api/executions/${traceId}`)).body;
		expect(execution).toMatchObject({ status: 'completed', agent: { name: 'researcher' }, usage: { inputTokens: 1200, outputTokens: 300 } });
		const events = (await readAllEvents(server, traceId)) as unknown as StoredEvent[];
		expect(steps(events)).toEqual([
			{ name: 'chat gpt-4.1', kind: 'llm', parent: 'researcher', error: undefined },
			{ name: 'execute_tool search', kind: 'tool', parent: 'researcher', error: undefined },
			{ name: 'researcher', kind: 'agent', parent: undefined, error: undefined }
		]);
		// In order: each step inside its parent, the execution's end last (the SDK's millisecond
		// starts can stamp the tool as starting after the agent's end; the order must not follow).
		// Siblings are ordered by their stamped times, which that same rounding can swap.
		const at = (type: string, stepId: string | undefined) => events.findIndex((e) => e.type === type && e.stepId === stepId);
		for (const start of events.filter((e) => e.type === 'step-start')) {
			expect(at('step-start', start.stepId)).toBeLessThan(at('step-end', start.stepId));
			if (!start.parentStepId) continue;
			expect(at('step-start', start.parentStepId)).toBeLessThan(at('step-start', start.stepId));
			expect(at('step-end', start.stepId)).toBeLessThan(at('step-end', start.parentStepId));
		}
		expect(events.at(-1)!.type).toBe('agent-complete');
		expect(events).toHaveLength(7);
		expect(events.find((e) => e.type === 'step-end' && e.data.output)?.data.output).toEqual(['rayleigh scattering']);
		// The page the URL names renders.
		expect((await fetch(url)).status).toBe(200);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}, 90_000);
