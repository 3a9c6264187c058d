import { context, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { assertClientBuilt, CLIENT_DIST } from '../helpers/client.js';
import { readAllEvents, request } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';

// The span processor with the real OpenTelemetry SDK: an instrumented agent's steps show while
// they run (SDKs export a span only when it ends), and the exporter's finished spans later
// complete them without storing any start twice.

let server: TestServer;
beforeAll(async () => {
	assertClientBuilt();
	server = await TestServer.start();
});
afterAll(async () => {
	await server?.cleanup();
});

test('span starts appear at once; the exported spans end them; each step-start is stored once', async () => {
	const { RunwatchSpanProcessor } = await import(`${CLIENT_DIST}/otel.js`);
	const starts = new RunwatchSpanProcessor({ url: server.url, token: server.token! });
	const exporter = new OTLPTraceExporter({ url: `${server.url}/v1/traces`, headers: { authorization: `Bearer ${server.token}` } });
	const batch = new BatchSpanProcessor(exporter);
	const provider = new BasicTracerProvider({
		resource: resourceFromAttributes({ 'service.name': 'otel-processor-agent' }),
		spanProcessors: [starts, batch]
	});
	const tracer: Tracer = provider.getTracer('processor-test');

	const root = tracer.startSpan('research', { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'researcher' } });
	const ctx = trace.setSpan(context.active(), root);
	const chat = tracer.startSpan('chat gpt-4.1', { attributes: { 'gen_ai.operation.name': 'chat' } }, ctx);
	const traceId = root.spanContext().traceId;
	await starts.forceFlush();

	// Both steps are there while they run, before anything was exported.
	const running = await request(server, 'GET', `/api/executions/${traceId}`);
	expect(running.status).toBe(200);
	expect(running.body.execution).toMatchObject({ id: traceId, agent: { name: 'researcher' }, status: 'running' });
	const startsOnly = running.body.events.map((e: { type: string; stepId: string; data: { kind: string } }) => [e.type, e.stepId, e.data.kind]);
	expect(startsOnly).toEqual([
		['step-start', root.spanContext().spanId, 'agent'],
		['step-start', chat.spanContext().spanId, 'llm']
	]);

	chat.setAttributes({ 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 20 });
	chat.end();
	root.end();
	await provider.forceFlush();
	await provider.shutdown();

	const events = await readAllEvents(server, traceId);
	const ids = events.map((e) => e.id);
	expect(new Set(ids).size).toBe(ids.length);
	expect(events.filter((e) => e.type === 'step-start')).toHaveLength(2);
	expect(events.filter((e) => e.type === 'step-end')).toHaveLength(2);
	const done = await request(server, 'GET', `/api/executions/${traceId}`);
	expect(done.body.execution).toMatchObject({ status: 'completed', usage: { inputTokens: 100, outputTokens: 20 } });
});
