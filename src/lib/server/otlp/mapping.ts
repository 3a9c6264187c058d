import type { EventInput } from '../../protocol/events.js';
import type { CreateExecutionInput } from '../../protocol/executions.js';
import { MAX_EVENT_BYTES, MAX_METADATA_VALUE_LENGTH, MAX_NAME_LENGTH } from '../../protocol/limits.js';
import type { ReceivedSpan } from './decode.js';
import type { JsonValue } from './schema.js';

/*
 * Spans → executions and events (docs/protocol.md, "OpenTelemetry"). The event ids are fixed by
 * the span id, so a span sent twice (exporter retries, or a client that reports its steps both
 * ways) is stored once: the store keeps one event per id per execution.
 */

/** What one trace of a request becomes: its execution (created if new) and its events, in order. */
export interface TraceBatch {
	execution: CreateExecutionInput & { id: string };
	events: EventInput[];
	/** Each event's `JSON.stringify(data)` where the mapping made it already (ingest stores that text). */
	dataJson: (string | undefined)[];
	/** How many spans these events stand for (refused together if the store refuses them). */
	spans: number;
}

type StepKind = 'llm' | 'tool' | 'agent' | 'custom';

/** `gen_ai.operation.name` (OpenTelemetry GenAI semantic conventions) → step kind. */
const KIND_BY_OPERATION: Record<string, StepKind> = {
	chat: 'llm',
	text_completion: 'llm',
	generate_content: 'llm',
	execute_tool: 'tool',
	invoke_agent: 'agent',
	create_agent: 'agent'
};

/**
 * Attributes that become a step's `input` or `output` (first present wins) and so are not
 * repeated under `attributes`: they are the biggest values a GenAI span carries.
 */
const INPUT_ATTRIBUTES = ['gen_ai.tool.call.arguments', 'gen_ai.input.messages', 'gen_ai.prompt'];
const OUTPUT_ATTRIBUTES = ['gen_ai.tool.call.result', 'gen_ai.output.messages', 'gen_ai.completion'];
const TAKEN_ATTRIBUTES: ReadonlySet<string> = new Set([...INPUT_ATTRIBUTES, ...OUTPUT_ATTRIBUTES]);

/** Sort order of events at the same instant: a step starts before it ends, and the execution ends last. */
const RANK = { 'step-start': 0, 'step-end': 1, end: 2 } as const;

interface Timed {
	nanos: bigint;
	rank: number;
	/** Starts: parents first; ends: children first (negated depth). */
	depth: number;
	event: EventInput;
	dataJson?: string;
}

export function stepKind(operation: JsonValue | undefined): StepKind {
	return (typeof operation === 'string' && Object.hasOwn(KIND_BY_OPERATION, operation) && KIND_BY_OPERATION[operation]) || 'custom';
}

/** The last second `isoFromNanos` wrote, and its ISO-8601 text up to the milliseconds ("…T03:04:05."). */
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/**
 * Unix nanoseconds → ISO-8601 (milliseconds; the order below uses the full nanoseconds).
 * `toISOString` cost more than the rest of a span's mapping, and a request's spans mostly share
 * their seconds: the text of the last second is kept. (Any fixed64 of nanoseconds is before
 * the year 2555, so the text always has the four-digit year that `slice(0, 20)` assumes.)
 */
export function isoFromNanos(nanos: bigint): string {
	const ms = Number(nanos / 1_000_000n);
	const second = Math.floor(ms / 1000);
	if (second !== cachedSecond) {
		cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
		cachedSecond = second;
	}
	const millis = ms - second * 1000;
	return `${cachedPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

/** Groups a request's spans by trace and maps each trace to one batch of events, ordered by time. */
export function mapSpans(spans: readonly ReceivedSpan[]): TraceBatch[] {
	const byTrace = new Map<string, ReceivedSpan[]>();
	for (const span of spans) {
		const group = byTrace.get(span.traceId);
		if (group) group.push(span);
		else byTrace.set(span.traceId, [span]);
	}
	return [...byTrace].map(([traceId, group]) => ({ execution: executionOf(traceId, group), ...eventsOf(group), spans: group.length }));
}

function text(value: JsonValue | undefined): string | undefined {
	return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/**
 * The execution a trace becomes. The agent's name comes from `gen_ai.agent.name` (the root
 * span's, else any span's in this request), else the resource's `service.name`, else "otel".
 * Created once: a later request of the same trace finds it and changes nothing.
 */
function executionOf(traceId: string, spans: readonly ReceivedSpan[]): TraceBatch['execution'] {
	const root = spans.find((span) => !span.parentSpanId);
	const first = root ?? spans[0]!;
	const service = text(first.resource['service.name']);
	const agentName =
		text(root?.attributes['gen_ai.agent.name']) ??
		spans.map((span) => text(span.attributes['gen_ai.agent.name'])).find(Boolean) ??
		service ??
		'otel';
	const agent: TraceBatch['execution']['agent'] = { name: agentName.slice(0, MAX_NAME_LENGTH) };
	const model = text(root?.attributes['gen_ai.request.model']) ?? text(root?.attributes['gen_ai.response.model']);
	if (model) agent.model = model.slice(0, MAX_NAME_LENGTH);
	const metadata: Record<string, string> = { source: 'otlp' };
	if (service) metadata['service.name'] = service.slice(0, MAX_METADATA_VALUE_LENGTH);
	return { id: traceId, agent, metadata };
}

function eventsOf(spans: readonly ReceivedSpan[]): Pick<TraceBatch, 'events' | 'dataJson'> {
	const depths = depthsOf(spans);
	const ends = orderEndsOf(spans);
	const timed: Timed[] = [];
	for (const span of spans) timed.push(...spanEvents(span, depths.get(span.spanId) ?? 0, ends.get(span.spanId) ?? span.endNanos));
	// Stable: what is still equal keeps the order the spans came in.
	timed.sort((a, b) => (a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : a.rank - b.rank || a.depth - b.depth));
	return { events: timed.map((entry) => entry.event), dataJson: timed.map((entry) => entry.dataJson) };
}

/** How many of each span's ancestors are in this request, so that a parent starting at the same instant as its child comes first. */
function depthsOf(spans: readonly ReceivedSpan[]): Map<string, number> {
	const parents = new Map(spans.map((span) => [span.spanId, span.parentSpanId]));
	const depths = new Map<string, number>();
	for (const span of spans) {
		let depth = 0;
		// Bounded by the number of spans: a malicious cycle of parents ends too.
		for (let parent = span.parentSpanId; parent && parents.has(parent) && depth < spans.length; parent = parents.get(parent)) depth++;
		depths.set(span.spanId, depth);
	}
	return depths;
}

/**
 * The end each span is ordered by: its own, but never after an enclosing span's in this request.
 * The JS SDK times each span on its own clock (a start in whole milliseconds plus a
 * high-resolution duration), so a child ending just before its parent can be stamped a fraction
 * of a millisecond after it; a step's end (and the execution's) must still come after its
 * children's. Likewise a child that starts within a millisecond of its parent's end can be
 * stamped as starting after it: `spanEvents` orders a start no later than the span's order end.
 * Only the order uses this; every event keeps its span's own time.
 */
function orderEndsOf(spans: readonly ReceivedSpan[]): Map<string, bigint> {
	const byId = new Map(spans.map((span) => [span.spanId, span]));
	const ends = new Map<string, bigint>();
	const endOf = (span: ReceivedSpan, hops: number): bigint => {
		const known = ends.get(span.spanId);
		if (known !== undefined) return known;
		const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
		// `hops` bounds a malicious cycle of parents, as in depthsOf.
		const parentEnd = parent && hops < spans.length ? endOf(parent, hops + 1) : undefined;
		const end = parentEnd !== undefined && parentEnd < span.endNanos ? parentEnd : span.endNanos;
		ends.set(span.spanId, end);
		return end;
	};
	for (const span of spans) endOf(span, 0);
	return ends;
}

/** One span → `step-start`, `step-end`, and for a root span `agent-complete` or `error`. */
function spanEvents(span: ReceivedSpan, depth: number, orderEnd: bigint): Timed[] {
	const input = take(span.attributes, INPUT_ATTRIBUTES);
	const output = take(span.attributes, OUTPUT_ATTRIBUTES);
	// Left out of `attributes` when present: they are the step's input and output.
	const attributes = input === undefined && output === undefined ? span.attributes : without(span.attributes, TAKEN_ATTRIBUTES);
	const kind = stepKind(attributes['gen_ai.operation.name']);
	const name = (span.name.trim() || text(attributes['gen_ai.operation.name']) || 'span').slice(0, MAX_NAME_LENGTH);

	const startData: Record<string, JsonValue> = { name, kind };
	if (input !== undefined) startData.input = input;
	const model = text(attributes['gen_ai.request.model']) ?? text(attributes['gen_ai.response.model']);
	if (model) startData.model = model;
	const tool = text(attributes['gen_ai.tool.name']);
	if (tool) startData.tool = tool;
	startData.attributes = attributes;

	const endData: Record<string, JsonValue> = {};
	if (output !== undefined) endData.output = output;
	const usage = usageOf(attributes);
	if (usage) endData.usage = usage;
	const error = span.status.code === 'error' ? errorOf(span) : undefined;
	if (error) endData.error = error;
	// Microsecond precision: spans are often shorter than a millisecond.
	endData.durationMs = Number(span.endNanos - span.startNanos) / 1e6;

	const step = { stepId: span.spanId, ...(span.parentSpanId ? { parentStepId: span.parentSpanId } : {}) };
	const start = isoFromNanos(span.startNanos);
	const end = isoFromNanos(span.endNanos);
	const startJson = fit(startData, ['attributes', 'input']);
	const endJson = fit(endData, ['output']);
	const events: Timed[] = [
		{ nanos: span.startNanos < orderEnd ? span.startNanos : orderEnd, rank: RANK['step-start'], depth, event: { id: `otel-${span.spanId}-start`, type: 'step-start', ts: start, ...step, data: startData }, dataJson: startJson },
		{ nanos: orderEnd, rank: RANK['step-end'], depth: -depth, event: { id: `otel-${span.spanId}-end`, type: 'step-end', ts: end, ...step, data: endData }, dataJson: endJson }
	];
	if (!span.parentSpanId) {
		events.push({
			nanos: orderEnd,
			rank: RANK.end,
			depth: 0,
			event: error
				? { id: `otel-${span.spanId}-error`, type: 'error', ts: end, data: error }
				: { id: `otel-${span.spanId}-complete`, type: 'agent-complete', ts: end }
		});
	}
	return events;
}

/** The first of `names` present (a null gives way to a later one); a JSON string is parsed (GenAI messages are sent as JSON text). */
function take(attributes: Record<string, JsonValue>, names: readonly string[]): JsonValue | undefined {
	let found: JsonValue | undefined;
	for (const name of names) {
		if (Object.hasOwn(attributes, name)) found ??= attributes[name];
	}
	if (typeof found === 'string' && /^\s*[[{]/.test(found)) {
		try {
			return JSON.parse(found) as JsonValue;
		} catch {
			// not JSON after all (or cut short): keep the text
		}
	}
	return found;
}

/**
 * A copy of `attributes` without `names`. Copied rather than deleted from: an object that loses a
 * property becomes a slow dictionary, and this one is serialised next.
 */
function without(attributes: Record<string, JsonValue>, names: ReadonlySet<string>): Record<string, JsonValue> {
	const copy: Record<string, JsonValue> = {};
	for (const key of Object.keys(attributes)) {
		if (names.has(key)) continue;
		// "__proto__" is an attribute like any other: an own property, as the spread copy makes it.
		if (key === '__proto__') Object.defineProperty(copy, key, { value: attributes[key], enumerable: true, writable: true, configurable: true });
		else copy[key] = attributes[key]!;
	}
	return copy;
}

function tokens(value: JsonValue | undefined): number | undefined {
	const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
	return typeof number === 'number' && Number.isFinite(number) && number >= 0 ? Math.round(number) : undefined;
}

/** `gen_ai.usage.*` → `{ inputTokens, outputTokens }`; the execution's totals add these up. */
function usageOf(attributes: Record<string, JsonValue>): Record<string, number> | undefined {
	const inputTokens = tokens(attributes['gen_ai.usage.input_tokens']);
	const outputTokens = tokens(attributes['gen_ai.usage.output_tokens']);
	if (inputTokens === undefined && outputTokens === undefined) return undefined;
	const usage: Record<string, number> = {};
	if (inputTokens !== undefined) usage.inputTokens = inputTokens;
	if (outputTokens !== undefined) usage.outputTokens = outputTokens;
	return usage;
}

/** A failed span's error: the status message, else its `exception` event's; type and stack from that event. */
function errorOf(span: ReceivedSpan): Record<string, JsonValue> {
	const exception = span.events.find((event) => event.name === 'exception')?.attributes ?? {};
	const message = span.status.message || text(exception['exception.message']) || text(exception['exception.type']) || 'Span ended with status ERROR';
	const error: Record<string, JsonValue> = { message };
	const type = text(exception['exception.type']);
	if (type) error.type = type;
	const stack = text(exception['exception.stacktrace']);
	if (stack) error.stack = stack;
	return error;
}

/**
 * Keeps an event under MAX_EVENT_BYTES (the store refuses bigger ones, and with them the whole
 * batch) by dropping its largest optional parts of `data`, in order, and saying so. The step
 * itself, its name, kind, times, usage and error always remain. Returns `JSON.stringify(data)`
 * when it made it for the data as it stays (ingest stores that text instead of serialising again).
 */
function fit(data: Record<string, JsonValue>, droppable: readonly string[]): string | undefined {
	// Room for the event's envelope (id, type, ts, step ids) around its data.
	const budget = MAX_EVENT_BYTES - 512;
	for (const field of droppable) {
		const json = JSON.stringify(data);
		if (json.length * 3 <= budget || Buffer.byteLength(json) <= budget) return json;
		if (data[field] === undefined) continue;
		delete data[field];
		data.truncated = [...((data.truncated as string[] | undefined) ?? []), field];
	}
	return undefined;
}
