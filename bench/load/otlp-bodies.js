// The OTLP request bodies of the "otlp" benchmark, made by the real SDK
// (@opentelemetry/sdk-trace-base) and serialised by the exporters' own serializers
// (@opentelemetry/otlp-transformer). Shared by the load process (bench/load/otlp.js) and the
// in-process micro-benchmark (bench/micro/otlp-decode.js), so both measure the same bytes.
import { context, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

/**
 * One agent run as GenAI instrumentation records it: `invoke_agent` (root) with `spans - 1`
 * children alternating `chat` (model, usage, input and output messages) and `execute_tool`
 * (tool name, arguments, result), every tenth tool failing with an exception.
 */
function makeTrace(tracer, n, spans) {
	const base = T0 + n * 60_000;
	const root = tracer.startSpan(`invoke_agent agent-${n % 10}`, {
		startTime: base,
		attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': `agent-${n % 10}`, 'gen_ai.request.model': 'gpt-bench' }
	});
	const parent = trace.setSpan(context.active(), root);
	for (let k = 1; k < spans; k++) {
		const at = base + k * 100;
		if (k % 2) {
			const span = tracer.startSpan(
				'chat gpt-bench',
				{
					startTime: at,
					attributes: {
						'gen_ai.operation.name': 'chat',
						'gen_ai.request.model': 'gpt-bench',
						'gen_ai.response.model': 'gpt-bench-2026-01',
						'gen_ai.usage.input_tokens': 900 + k,
						'gen_ai.usage.output_tokens': 120 + k,
						'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `step ${k}: find the cheapest flight from Lisbon to Oslo next week and summarise the options` }] }]),
						'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'tool_call', name: 'search', arguments: { q: `flights LIS OSL ${k}` } }] }])
					}
				},
				parent
			);
			span.end(at + 80);
		} else {
			const span = tracer.startSpan(
				'execute_tool search',
				{
					startTime: at,
					attributes: {
						'gen_ai.operation.name': 'execute_tool',
						'gen_ai.tool.name': 'search',
						'gen_ai.tool.call.id': `call_${n}_${k}`,
						'gen_ai.tool.call.arguments': JSON.stringify({ q: `flights LIS OSL ${k}`, limit: 5 }),
						'gen_ai.tool.call.result': JSON.stringify({ hits: [{ price: 212, carrier: 'TP' }, { price: 189, carrier: 'SK' }] })
					}
				},
				parent
			);
			if (k % 10 === 0) {
				span.recordException(new Error('search timed out'), at + 50);
				span.setStatus({ code: 2, message: 'search timed out' });
			}
			span.end(at + 60);
		}
	}
	root.end(base + spans * 100);
}

/**
 * T traces of S spans each; `groups` holds each trace's SDK spans, `requests` the protobuf and
 * JSON bodies of R traces each. `idGenerator` (the SDK's) makes ids repeatable; random by default.
 */
export async function makeBodies({ traces, spansPerTrace, tracesPerRequest, idGenerator }) {
	const exporter = new InMemorySpanExporter();
	const provider = new BasicTracerProvider({
		resource: resourceFromAttributes({ 'service.name': 'bench-agent', 'service.version': '1.0.0', 'telemetry.sdk.language': 'nodejs' }),
		spanProcessors: [new SimpleSpanProcessor(exporter)],
		...(idGenerator ? { idGenerator } : {})
	});
	const tracer = provider.getTracer('runwatch-bench', '1.0.0');
	for (let n = 0; n < traces; n++) makeTrace(tracer, n, spansPerTrace);
	await provider.forceFlush();
	const spans = exporter.getFinishedSpans();
	await provider.shutdown();
	const byTrace = new Map();
	for (const span of spans) {
		const id = span.spanContext().traceId;
		if (!byTrace.has(id)) byTrace.set(id, []);
		byTrace.get(id).push(span);
	}
	const groups = [...byTrace.values()];
	const requests = [];
	for (let i = 0; i < groups.length; i += tracesPerRequest) {
		// An exporter sends spans as they end: children first, the root last.
		const batch = groups.slice(i, i + tracesPerRequest).flat();
		requests.push({ spans: batch.length, protobuf: Buffer.from(ProtobufTraceSerializer.serializeRequest(batch)), json: Buffer.from(JsonTraceSerializer.serializeRequest(batch)) });
	}
	return { spans, groups, requests };
}
