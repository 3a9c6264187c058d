import { afterEach, expect, test } from 'vitest';
import { RecordingServer } from '../test/recording-server.js';
import { RunwatchSpanProcessor, type SpanLike } from './otel.js';
import { stepKindOf } from './otel-kind.js';

let server: RecordingServer;
afterEach(() => server?.close());

const TRACE = '0af7651916cd43dd8448eb211c80319c';

function span(spanId: string, name: string, attributes: Record<string, unknown>, parent?: { v2?: string; v1?: string }): SpanLike {
	return {
		name,
		spanContext: () => ({ traceId: TRACE, spanId }),
		...(parent?.v2 ? { parentSpanContext: { spanId: parent.v2 } } : {}),
		...(parent?.v1 ? { parentSpanId: parent.v1 } : {}),
		startTime: [1_767_225_600, 123_456_789],
		attributes,
		resource: { attributes: { 'service.name': 'svc' } }
	};
}

test('operation name → step kind', () => {
	expect(['chat', 'text_completion', 'generate_content', 'execute_tool', 'invoke_agent', 'create_agent', 'embeddings', undefined, 'toString'].map(stepKindOf)).toEqual([
		'llm',
		'llm',
		'llm',
		'tool',
		'agent',
		'agent',
		'custom',
		'custom',
		'custom'
	]);
});

test('each span start is sent at once as the step-start the OTLP ingest stores, after creating the trace execution', async () => {
	server = await RecordingServer.start();
	const processor = new RunwatchSpanProcessor({ url: server.url, token: 'tok', onError: () => {} });
	const root = span('b7ad6b7169203331', 'agent run', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' });
	processor.onStart(root, {});
	processor.onStart(span('00f067aa0ba902b7', 'chat gpt-x', { 'gen_ai.operation.name': 'chat' }, { v2: 'b7ad6b7169203331' }), {});
	processor.onStart(span('1111111111111111', 'search', { 'gen_ai.operation.name': 'execute_tool' }, { v1: '00f067aa0ba902b7' }), {});
	processor.onStart(span('2222222222222222', 'misc', {}, { v2: 'b7ad6b7169203331' }), {});
	await processor.forceFlush();

	expect(server.requests[0]).toMatchObject({ path: '/api/executions', body: { id: TRACE, agent: { name: 'planner' } } });
	expect(server.requests.slice(1).every((r) => r.path === `/api/executions/${TRACE}/events`)).toBe(true);
	expect(server.events).toEqual([
		{ id: 'otel-b7ad6b7169203331-start', type: 'step-start', ts: '2026-01-01T00:00:00.123Z', stepId: 'b7ad6b7169203331', data: { name: 'agent run', kind: 'agent' } },
		{ id: 'otel-00f067aa0ba902b7-start', type: 'step-start', ts: '2026-01-01T00:00:00.123Z', stepId: '00f067aa0ba902b7', parentStepId: 'b7ad6b7169203331', data: { name: 'chat gpt-x', kind: 'llm' } },
		{ id: 'otel-1111111111111111-start', type: 'step-start', ts: '2026-01-01T00:00:00.123Z', stepId: '1111111111111111', parentStepId: '00f067aa0ba902b7', data: { name: 'search', kind: 'tool' } },
		{ id: 'otel-2222222222222222-start', type: 'step-start', ts: '2026-01-01T00:00:00.123Z', stepId: '2222222222222222', parentStepId: 'b7ad6b7169203331', data: { name: 'misc', kind: 'custom' } }
	]);
	processor.onEnd(root);
	await processor.shutdown();
	processor.onStart(span('3333333333333333', 'late', {}), {});
	expect(processor.stats()).toMatchObject({ sent: 4, queued: 0 });
});

test('agent name falls back to service.name, then "otel"', async () => {
	server = await RecordingServer.start();
	const processor = new RunwatchSpanProcessor({ url: server.url, token: 'tok', onError: () => {} });
	const s = span('4444444444444444', 'x', {});
	processor.onStart(s, {});
	await processor.forceFlush();
	expect(server.requests[0]!.body.agent).toEqual({ name: 'svc' });
	const { agentNameOf } = await import('./otel.js');
	expect(agentNameOf({ ...s, resource: undefined })).toBe('otel');
	await processor.shutdown();
});
