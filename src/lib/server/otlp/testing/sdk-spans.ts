/**
 * Spans made by the real OpenTelemetry SDK, and the bytes its OTLP exporters send for them
 * (the exporters' own serializers), for the unit tests of the decoder and the mapping.
 */
import { context, trace, type Span, type Tracer } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** 2026-01-02T03:04:05.000Z in milliseconds: every span's times are offsets from it. */
export const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

export interface AgentTrace {
	spans: ReadableSpan[];
	traceId: string;
	ids: { root: string; chat1: string; tool: string; failingTool: string; chat2: string };
}

/**
 * An agent run as GenAI instrumentation records it: `invoke_agent` (root) → `chat` (usage
 * 100/20) → `execute_tool` (ok) and a failing `execute_tool`, → second `chat` (usage 150/30).
 * `fail` makes the root span end with status ERROR.
 */
export async function agentTrace({ fail = false, service = 'svc' }: { fail?: boolean; service?: string } = {}): Promise<AgentTrace> {
	const exporter = new InMemorySpanExporter();
	const provider = new BasicTracerProvider({
		resource: resourceFromAttributes({ 'service.name': service }),
		spanProcessors: [new SimpleSpanProcessor(exporter)]
	});
	const tracer = provider.getTracer('runwatch-test');
	const child = (parent: Span, name: string, at: number, attributes: Record<string, string | number>) =>
		tracer.startSpan(name, { startTime: T0 + at, attributes }, trace.setSpan(context.active(), parent));

	const root = tracer.startSpan('invoke_agent researcher', {
		startTime: T0,
		attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'researcher', 'gen_ai.request.model': 'gpt-test' }
	});
	const chat1 = child(root, 'chat gpt-test', 10, {
		'gen_ai.operation.name': 'chat',
		'gen_ai.request.model': 'gpt-test',
		'gen_ai.usage.input_tokens': 100,
		'gen_ai.usage.output_tokens': 20,
		'gen_ai.input.messages': '[{"role":"user","parts":[{"type":"text","content":"find it"}]}]'
	});
	chat1.end(T0 + 200);
	const tool = child(root, 'execute_tool search', 210, {
		'gen_ai.operation.name': 'execute_tool',
		'gen_ai.tool.name': 'search',
		'gen_ai.tool.call.arguments': '{"q":"otlp"}',
		'gen_ai.tool.call.result': '{"hits":3}'
	});
	tool.end(T0 + 300);
	const failingTool = child(root, 'execute_tool fetch', 310, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'fetch' });
	failingTool.recordException(new Error('fetch failed: 404'), T0 + 350);
	failingTool.setStatus({ code: 2, message: 'fetch failed: 404' });
	failingTool.end(T0 + 360);
	const chat2 = child(root, 'chat gpt-test', 400, {
		'gen_ai.operation.name': 'chat',
		'gen_ai.request.model': 'gpt-test',
		'gen_ai.usage.input_tokens': 150,
		'gen_ai.usage.output_tokens': 30
	});
	chat2.end(T0 + 900);
	if (fail) {
		root.recordException(new Error('agent gave up'), T0 + 950);
		root.setStatus({ code: 2 });
	}
	root.end(T0 + 1000);
	await provider.forceFlush();
	const spans = exporter.getFinishedSpans();
	await provider.shutdown();
	const id = (span: Span) => span.spanContext().spanId;
	return {
		spans,
		traceId: root.spanContext().traceId,
		ids: { root: id(root), chat1: id(chat1), tool: id(tool), failingTool: id(failingTool), chat2: id(chat2) }
	};
}

/** What `@opentelemetry/exporter-trace-otlp-proto` sends for these spans. */
export function protobufBytes(spans: ReadableSpan[]): Uint8Array {
	return ProtobufTraceSerializer.serializeRequest(spans)!;
}

/** What `@opentelemetry/exporter-trace-otlp-http` sends for these spans (OTLP/JSON). */
export function jsonBytes(spans: ReadableSpan[]): Uint8Array {
	return JsonTraceSerializer.serializeRequest(spans)!;
}
