import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { eventInputSchema, type EventInput } from '../../protocol/events.js';
import { MAX_EVENT_BYTES } from '../../protocol/limits.js';
import { reduceEvents } from '../../protocol/reducer.js';
import { checkTraceRequest, decodeBody, type ReceivedSpan } from './decode.js';
import { isoFromNanos, mapSpans, stepKind } from './mapping.js';
import { agentTrace, protobufBytes, T0 } from './testing/sdk-spans.js';

async function mapped(options?: Parameters<typeof agentTrace>[0]) {
	const trace = await agentTrace(options);
	const { spans } = checkTraceRequest(decodeBody(Buffer.from(protobufBytes(trace.spans)), 'protobuf'));
	return { ...trace, received: spans, batches: mapSpans(spans) };
}

const iso = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();
const stored = (events: EventInput[]) => events.map((event, i) => ({ ...event, seq: i + 1, id: event.id!, ts: event.ts! }));
const byId = (events: EventInput[]) => new Map(events.map((event) => [event.id, event]));

function span(overrides: Partial<ReceivedSpan>): ReceivedSpan {
	return {
		traceId: 'a'.repeat(32),
		spanId: '1'.repeat(16),
		name: 'step',
		startNanos: 1_000_000_000n,
		endNanos: 2_000_000_000n,
		attributes: {},
		events: [],
		status: { code: 'unset' },
		resource: {},
		...overrides
	};
}

describe('stepKind', () => {
	test.each([
		['chat', 'llm'],
		['text_completion', 'llm'],
		['generate_content', 'llm'],
		['execute_tool', 'tool'],
		['invoke_agent', 'agent'],
		['create_agent', 'agent'],
		['embeddings', 'custom'],
		['toString', 'custom'],
		[undefined, 'custom'],
		[3, 'custom']
	])('%j → %s', (operation, kind) => {
		expect(stepKind(operation)).toBe(kind);
	});
});

describe('an agent trace from the SDK', () => {
	test('becomes one execution named by gen_ai.agent.name, id = trace id', async () => {
		const { batches, traceId } = await mapped();
		expect(batches).toHaveLength(1);
		expect(batches[0]!.execution).toEqual({
			id: traceId,
			agent: { name: 'researcher', model: 'gpt-test' },
			metadata: { source: 'otlp', 'service.name': 'svc' }
		});
		expect(batches[0]!.spans).toBe(5);
		expect(traceId).toMatch(/^[0-9a-f]{32}$/);
	});

	test('every span is a step-start and a step-end with fixed ids, all valid events', async () => {
		const { batches, ids } = await mapped();
		const events = batches[0]!.events;
		expect(events).toHaveLength(11);
		for (const event of events) expect(eventInputSchema.safeParse(event).error).toBeUndefined();
		const all = byId(events);
		for (const id of Object.values(ids)) {
			expect(all.get(`otel-${id}-start`)).toMatchObject({ type: 'step-start', stepId: id });
			expect(all.get(`otel-${id}-end`)).toMatchObject({ type: 'step-end', stepId: id });
		}
		expect(all.get(`otel-${ids.root}-complete`)).toEqual({ id: `otel-${ids.root}-complete`, type: 'agent-complete', ts: iso(1000) });
	});

	test('kinds, parents, models, tools, input and output', async () => {
		const { batches, ids } = await mapped();
		const all = byId(batches[0]!.events);
		const start = (id: string) => all.get(`otel-${id}-start`)!;
		const end = (id: string) => all.get(`otel-${id}-end`)!;
		expect(start(ids.root)).toMatchObject({ ts: iso(0), data: { name: 'invoke_agent researcher', kind: 'agent', model: 'gpt-test' } });
		expect(start(ids.root).parentStepId).toBeUndefined();
		expect(start(ids.chat1)).toMatchObject({
			ts: iso(10),
			parentStepId: ids.root,
			data: { name: 'chat gpt-test', kind: 'llm', model: 'gpt-test', input: [{ role: 'user', parts: [{ type: 'text', content: 'find it' }] }] }
		});
		const chatAttributes = (start(ids.chat1).data as { attributes: Record<string, unknown> }).attributes;
		expect(chatAttributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 100 });
		expect(chatAttributes).not.toHaveProperty('gen_ai.input.messages'); // moved to input, not repeated
		expect(start(ids.tool)).toMatchObject({ parentStepId: ids.root, data: { kind: 'tool', tool: 'search', input: { q: 'otlp' } } });
		expect(end(ids.tool)).toMatchObject({ ts: iso(300), data: { output: { hits: 3 }, durationMs: 90 } });
		expect(end(ids.chat1)).toMatchObject({ ts: iso(200), data: { usage: { inputTokens: 100, outputTokens: 20 }, durationMs: 190 } });
		expect(end(ids.chat2).data).toMatchObject({ usage: { inputTokens: 150, outputTokens: 30 } });
		expect(end(ids.root).data).toEqual({ durationMs: 1000 });
	});

	test('a failed span ends with its error; the execution still completes', async () => {
		const { batches, ids } = await mapped();
		const failed = byId(batches[0]!.events).get(`otel-${ids.failingTool}-end`)!;
		expect(failed.data).toMatchObject({ error: { message: 'fetch failed: 404', type: 'Error' } });
		expect((failed.data as { error: { stack: string } }).error.stack).toMatch(/^Error: fetch failed: 404\n\s+at /);
		const state = reduceEvents(stored(batches[0]!.events));
		expect(state.status).toBe('completed');
		expect(state.endedAt).toBe(iso(1000));
	});

	test('usage adds up once: step-end usage only', async () => {
		const { batches } = await mapped();
		expect(reduceEvents(stored(batches[0]!.events)).usage).toEqual({ inputTokens: 250, outputTokens: 50, costUsd: 0 });
	});

	test('a root ending in ERROR fails the execution with the exception message', async () => {
		const { batches, ids } = await mapped({ fail: true });
		const events = batches[0]!.events;
		expect(events.at(-2)).toMatchObject({ id: `otel-${ids.root}-end`, data: { error: { message: 'agent gave up' } } });
		expect(events.at(-1)).toMatchObject({ id: `otel-${ids.root}-error`, type: 'error', ts: iso(1000), data: { message: 'agent gave up', type: 'Error' } });
		expect(byId(events).has(`otel-${ids.root}-complete`)).toBe(false);
		const state = reduceEvents(stored(events));
		expect(state.status).toBe('failed');
		expect(state.error).toBe('agent gave up');
	});

	test('events are in time order, a step starting before it ends, the execution ending last', async () => {
		const { batches, received } = await mapped();
		// The SDK exports children first; order them as they happened.
		expect(received[0]!.parentSpanId).toBeDefined();
		const events = batches[0]!.events;
		const times = events.map((event) => Date.parse(event.ts!));
		expect(times).toEqual([...times].sort((a, b) => a - b));
		expect(events[0]!.type).toBe('step-start');
		expect(events.map((event) => event.type).slice(-2)).toEqual(['step-end', 'agent-complete']);
	});
});

describe('mapping details', () => {
	test('spans of several traces become one batch each', () => {
		const batches = mapSpans([
			span({ traceId: 'a'.repeat(32), spanId: '1'.repeat(16) }),
			span({ traceId: 'b'.repeat(32), spanId: '2'.repeat(16), parentSpanId: '3'.repeat(16) }),
			span({ traceId: 'a'.repeat(32), spanId: '4'.repeat(16), parentSpanId: '1'.repeat(16) })
		]);
		expect(batches.map((batch) => [batch.execution.id, batch.spans, batch.events.length])).toEqual([
			['a'.repeat(32), 2, 5],
			['b'.repeat(32), 1, 2]
		]);
	});

	test('agent name: root’s gen_ai.agent.name, else any span’s, else service.name, else "otel"', () => {
		const child = { parentSpanId: '9'.repeat(16) };
		const name = (spans: ReceivedSpan[]) => mapSpans(spans)[0]!.execution.agent.name;
		expect(name([span({ ...child, spanId: '2'.repeat(16), attributes: { 'gen_ai.agent.name': 'child' } }), span({ attributes: { 'gen_ai.agent.name': 'root' } })])).toBe('root');
		expect(name([span({ ...child, attributes: { 'gen_ai.agent.name': 'child' }, resource: { 'service.name': 'svc' } })])).toBe('child');
		expect(name([span({ ...child, resource: { 'service.name': 'svc' } })])).toBe('svc');
		expect(name([span({ ...child, resource: { 'service.name': '  ' } })])).toBe('otel');
		expect(mapSpans([span({})])[0]!.execution.metadata).toEqual({ source: 'otlp' });
	});

	test('at the same instant, starts come before ends (parents first), ends children first', () => {
		const events = mapSpans([
			span({ spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16), startNanos: 1_500_000_000n, endNanos: 1_500_000_000n }),
			span({ spanId: '3'.repeat(16), parentSpanId: '1'.repeat(16), startNanos: 1_000_000_000n, endNanos: 1_500_000_000n }),
			span({ spanId: '1'.repeat(16), startNanos: 1_000_000_000n, endNanos: 1_500_000_000n })
		])[0]!.events;
		expect(events.map((event) => event.id)).toEqual([
			'otel-1111111111111111-start',
			'otel-3333333333333333-start',
			'otel-2222222222222222-start',
			'otel-2222222222222222-end',
			'otel-3333333333333333-end',
			'otel-1111111111111111-end',
			'otel-1111111111111111-complete'
		]);
	});

	test('a child stamped as ending after its parent (the JS SDK times each span on its own clock) still ends before it; times stay as sent', () => {
		const events = mapSpans([
			span({ spanId: '1'.repeat(16), startNanos: 1_000_000_000n, endNanos: 1_550_085_369n, status: { code: 'error', message: 'agent gave up' } }),
			span({ spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16), startNanos: 1_517_000_000n, endNanos: 1_550_300_000n }),
			span({ spanId: '3'.repeat(16), parentSpanId: '2'.repeat(16), startNanos: 1_520_000_000n, endNanos: 1_550_400_000n })
		])[0]!.events;
		expect(events.map((event) => event.id)).toEqual([
			'otel-1111111111111111-start',
			'otel-2222222222222222-start',
			'otel-3333333333333333-start',
			'otel-3333333333333333-end',
			'otel-2222222222222222-end',
			'otel-1111111111111111-end',
			'otel-1111111111111111-error'
		]);
		expect((events[3]!.data as { durationMs: number }).durationMs).toBeCloseTo(30.4, 6);
	});

	// Seen with the README's example: the root starts at 899.9 ms (stamped 899), runs 5.1 ms (ends
	// "904.1"); a child starts at 905.0 (stamped 905), before the root really ended.
	test('a child stamped as starting after its parent ended still starts and ends inside it, before the execution ends', () => {
		const events = mapSpans([
			span({ spanId: '1'.repeat(16), startNanos: 899_000_000n, endNanos: 904_100_000n }),
			span({ spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16), startNanos: 903_000_000n, endNanos: 903_500_000n }),
			span({ spanId: '3'.repeat(16), parentSpanId: '1'.repeat(16), startNanos: 905_000_000n, endNanos: 905_040_000n })
		])[0]!.events;
		expect(events.map((event) => event.id)).toEqual([
			'otel-1111111111111111-start',
			'otel-2222222222222222-start',
			'otel-2222222222222222-end',
			'otel-3333333333333333-start',
			'otel-3333333333333333-end',
			'otel-1111111111111111-end',
			'otel-1111111111111111-complete'
		]);
		// Times stay as sent.
		expect(events[3]!.ts).toBe(isoFromNanos(905_000_000n));
	});

	test('order follows nanoseconds even within one millisecond', () => {
		const events = mapSpans([
			span({ spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16), startNanos: 1_000_000_900n, endNanos: 1_000_000_950n }),
			span({ spanId: '1'.repeat(16), startNanos: 1_000_000_100n, endNanos: 1_000_000_990n })
		])[0]!.events;
		expect(events.map((event) => event.id)).toEqual([
			'otel-1111111111111111-start',
			'otel-2222222222222222-start',
			'otel-2222222222222222-end',
			'otel-1111111111111111-end',
			'otel-1111111111111111-complete'
		]);
		expect(events.map((event) => event.ts)).toEqual(Array(5).fill('1970-01-01T00:00:01.000Z'));
		expect((events[2]!.data as { durationMs: number }).durationMs).toBeCloseTo(0.00005, 8);
	});

	test('a span without a name is named by its operation, else "span"; long names are cut', () => {
		const names = mapSpans([
			span({ spanId: '1'.repeat(16), name: '', attributes: { 'gen_ai.operation.name': 'chat' } }),
			span({ spanId: '2'.repeat(16), name: '  ' }),
			span({ spanId: '3'.repeat(16), name: 'n'.repeat(500) })
		])[0]!.events.filter((event) => event.type === 'step-start').map((event) => (event.data as { name: string }).name);
		expect(names).toEqual(['chat', 'span', 'n'.repeat(200)]);
	});

	test('ERROR without a message or exception still says it failed', () => {
		const events = mapSpans([span({ status: { code: 'error' } })])[0]!.events;
		expect(events.at(-1)).toMatchObject({ type: 'error', data: { message: 'Span ended with status ERROR' } });
	});

	test('token counts sent as strings or doubles count; nonsense does not', () => {
		const usage = (attributes: ReceivedSpan['attributes']) => (mapSpans([span({ attributes })])[0]!.events[1]!.data as { usage?: unknown }).usage;
		expect(usage({ 'gen_ai.usage.input_tokens': '12', 'gen_ai.usage.output_tokens': 3.0 })).toEqual({ inputTokens: 12, outputTokens: 3 });
		expect(usage({ 'gen_ai.usage.output_tokens': 5 })).toEqual({ outputTokens: 5 });
		expect(usage({ 'gen_ai.usage.input_tokens': -1, 'gen_ai.usage.output_tokens': 'many' })).toBeUndefined();
	});

	test('a step whose attributes would pass the event limit keeps its step and says what it dropped', () => {
		const big: Record<string, string> = {};
		for (let i = 0; i < 12; i++) big[`attr.${i}`] = 'x'.repeat(30_000);
		const events = mapSpans([span({ attributes: { ...big, 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 1 } })])[0]!.events;
		const start = events[0]!;
		expect(start.data).toEqual({ name: 'step', kind: 'llm', truncated: ['attributes'] });
		expect(Buffer.byteLength(JSON.stringify(start))).toBeLessThan(MAX_EVENT_BYTES);
		expect(events[1]!.data).toMatchObject({ usage: { inputTokens: 1 } });
		for (const event of events) expect(eventInputSchema.safeParse(event).success).toBe(true);
	});

	test('isoFromNanos keeps milliseconds', () => {
		expect(isoFromNanos(1_767_323_045_123_999_999n)).toBe('2026-01-02T03:04:05.123Z');
	});

	// It keeps the text of the last second it wrote: any sequence of times, in the same second or
	// not, near or far apart, must read as Date would write each of them.
	test('isoFromNanos writes what Date#toISOString writes, for any fixed64 of nanoseconds, in any order', () => {
		const nanos = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 1_767_323_045_000_000_000n, max: 1_767_323_047_000_000_000n }));
		fc.assert(
			fc.property(fc.array(nanos, { minLength: 1, maxLength: 20 }), (times) => {
				for (const time of times) expect(isoFromNanos(time)).toBe(new Date(Number(time / 1_000_000n)).toISOString());
			}),
			{ numRuns: 300 }
		);
	});

	test('input and output attributes leave `attributes` (a null gives way to a later one); "__proto__" stays an attribute', () => {
		const attributes = JSON.parse('{"gen_ai.operation.name":"chat","gen_ai.input.messages":null,"gen_ai.prompt":"hi","gen_ai.completion":"[1,2]","__proto__":"kept","x":1}');
		const [batch] = mapSpans([span({ attributes })]);
		const [start, end] = batch!.events;
		expect(start!.data).toEqual({ name: 'step', kind: 'llm', input: 'hi', attributes: JSON.parse('{"gen_ai.operation.name":"chat","__proto__":"kept","x":1}') });
		expect(Object.hasOwn((start!.data as { attributes: object }).attributes, '__proto__')).toBe(true);
		expect(end!.data).toMatchObject({ output: [1, 2] });
		// The span's own attributes are left as they were.
		expect(Object.keys(attributes)).toHaveLength(6);
	});
});

// The client's span processor reports a span's start with the kind the server will give the
// finished span: the same step-start, stored once. Its table lives in the standalone package.
test('the client span processor and the server agree on every step kind', async () => {
	const { stepKindOf } = await import('../../../../packages/client/src/otel-kind.js');
	for (const operation of ['chat', 'text_completion', 'generate_content', 'execute_tool', 'invoke_agent', 'create_agent', 'embeddings', 'x', undefined]) {
		expect(stepKindOf(operation), String(operation)).toBe(stepKind(operation));
	}
});
