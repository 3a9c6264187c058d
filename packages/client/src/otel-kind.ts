/**
 * Step kind from a span's `gen_ai.operation.name` (OpenTelemetry GenAI semantic conventions).
 * The server's OTLP ingest maps finished spans the same way; keep the two in step.
 */
export type SpanStepKind = 'llm' | 'tool' | 'agent' | 'custom';

const KINDS: Readonly<Record<string, SpanStepKind>> = {
	chat: 'llm',
	text_completion: 'llm',
	generate_content: 'llm',
	execute_tool: 'tool',
	invoke_agent: 'agent',
	create_agent: 'agent'
};

export function stepKindOf(operationName: unknown): SpanStepKind {
	return (typeof operationName === 'string' && Object.hasOwn(KINDS, operationName) && KINDS[operationName]) || 'custom';
}
