import { gzipSync } from 'node:zlib';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MAX_OTLP_STRING_CHARS } from '../../protocol/limits.js';
import { anyInputArb, jsonArb, mutate, trickyKeyArb } from '../../protocol/testing/arbitraries.js';
import { RunwatchError } from '../errors.js';
import { checkTraceRequest, decodeBody, readTraceRequest, type OtlpEncoding, type ReceivedSpan } from './decode.js';
import { decodeTraceRequest, decodeTraceRequestGeneric, decodeTraceRequestWithProtobufjs, encodeTraceRequest } from './proto.js';
import { readTraceRequestBytes } from './proto-reader.js';
import type { JsonValue } from './schema.js';

/*
 * The OTLP/HTTP body reader by property: any bytes, any JSON, either encoding, gzipped or not,
 * end in a decoded request or in one of the documented refusals (400 `invalid_body`, 413
 * `payload_too_large`); and spans generated here, encoded by the OpenTelemetry exporters' own
 * serializers (and by a hand-written OTLP/JSON encoder using the spec's other spellings),
 * decode to exactly those spans.
 */

const RUNS = 40;

function source(bytes: Uint8Array, contentEncoding?: string) {
	return {
		contentLength: String(bytes.byteLength),
		contentEncoding,
		body: new ReadableStream<Uint8Array>({
			start(controller) {
				controller.enqueue(bytes);
				controller.close();
			}
		})
	};
}

/** Resolves with the request, or with the refusal; anything else fails the property. */
async function read(bytes: Uint8Array, encoding: OtlpEncoding, gzip: boolean) {
	try {
		return await readTraceRequest(source(gzip ? gzipSync(bytes) : bytes, gzip ? 'gzip' : undefined), encoding);
	} catch (error) {
		expect(error).toBeInstanceOf(RunwatchError);
		expect(['invalid_body', 'payload_too_large']).toContain((error as RunwatchError).code);
		return error as RunwatchError;
	}
}

/** What every accepted span satisfies, whatever was sent. */
function checkSpan(span: ReceivedSpan): void {
	expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
	expect(span.traceId).not.toMatch(/^0+$/);
	expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
	expect(span.spanId).not.toMatch(/^0+$/);
	if (span.parentSpanId !== undefined) expect(span.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
	expect(span.name).toBeTypeOf('string');
	expect(span.startNanos > 0n && span.startNanos <= span.endNanos && span.endNanos < 2n ** 64n).toBe(true);
	expect(['unset', 'ok', 'error']).toContain(span.status.code);
	if (span.status.message !== undefined) expect(span.status.message).toBeTypeOf('string');
	// Attributes are plain JSON: they survive JSON unchanged (so they can be stored as event data).
	for (const attributes of [span.attributes, span.resource, ...span.events.map((e) => e.attributes)]) {
		expect(JSON.parse(JSON.stringify(attributes))).toEqual(attributes);
		assertStringsCut(attributes);
	}
}

function assertStringsCut(value: unknown): void {
	if (typeof value === 'string') expect(value.length).toBeLessThanOrEqual(MAX_OTLP_STRING_CHARS + 60);
	else if (Array.isArray(value)) value.forEach(assertStringsCut);
	else if (value !== null && typeof value === 'object') Object.values(value).forEach(assertStringsCut);
}

describe('hostile bodies', () => {
	test('any bytes, either encoding, gzipped or not: a request or a 400/413, nothing else', async () => {
		await fc.assert(
			fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.constantFrom<OtlpEncoding>('json', 'protobuf'), fc.boolean(), async (bytes, encoding, gzip) => {
				const result = await read(bytes, encoding, gzip);
				if (!(result instanceof RunwatchError)) result.spans.forEach(checkSpan);
			}),
			{ numRuns: 100 }
		);
	}, 20_000);

	test('bytes that are not gzip under Content-Encoding: gzip are a 400', async () => {
		await fc.assert(
			fc.asyncProperty(fc.uint8Array({ maxLength: 100 }), async (bytes) => {
				fc.pre(bytes[0] !== 0x1f);
				const error = await readTraceRequest(source(bytes, 'gzip'), 'json').catch((e: unknown) => e);
				expect(error).toMatchObject({ code: 'invalid_body' });
			}),
			{ numRuns: 50 }
		);
	}, 20_000);

	test('any JSON, and valid requests with a field replaced by anything: decoded or 400; every span kept or counted', () => {
		const anyRequest = fc.oneof(anyInputArb, requestArb.map(({ json }) => json), mutate(requestArb.map(({ json }) => json)), mutate(spanJsonArb.map(wrapOne)), spanJsonArb.chain((span) => mutate(fc.constant(span)).map(wrapOne)));
		fc.assert(
			fc.property(anyRequest, fc.boolean(), (body, viaText) => {
				let request;
				try {
					request = viaText ? checkTraceRequest(decodeBody(Buffer.from(JSON.stringify(body) ?? 'undefined'), 'json')) : checkTraceRequest(body);
				} catch (error) {
					expect(error).toBeInstanceOf(RunwatchError);
					expect((error as RunwatchError).code).toBe('invalid_body');
					return;
				}
				request.spans.forEach(checkSpan);
				expect(request.rejected).toBe(countSpans(body) - request.spans.length);
				expect(request.rejections.length).toBe(Math.min(request.rejected, 5));
			}),
			{ numRuns: 100 }
		);
	});
});

function wrapOne(span: unknown) {
	return { resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] };
}

/** Spans in a body that passed the outline check (the ones either kept or counted as refused). */
function countSpans(body: unknown): number {
	const request = (viaJson(body) ?? {}) as { resourceSpans?: { scopeSpans?: { spans?: unknown[] | null }[] | null }[] | null };
	let n = 0;
	for (const rs of request.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
	return n;
}

function viaJson(value: unknown): unknown {
	const text = JSON.stringify(value);
	return text === undefined ? undefined : JSON.parse(text);
}

/* Valid spans: a model, its encodings, and what decoding must give. */

type Value = { kind: 'string'; v: string } | { kind: 'bool'; v: boolean } | { kind: 'int'; v: number } | { kind: 'double'; v: number } | { kind: 'array'; v: Value[] } | { kind: 'kvlist'; v: [string, Value][] };

const keyArb = fc.oneof(fc.string({ maxLength: 12 }), trickyKeyArb, fc.constantFrom('gen_ai.operation.name', 'service.name'));

const valueArb: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
	value: fc.oneof(
		{ depthSize: 'small', withCrossShrink: true },
		// (Strings past MAX_OTLP_STRING_CHARS: decode.spec.ts; generating them here would make every run slow.)
		fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.constant('<script>x</script>')).map((v) => ({ kind: 'string' as const, v })),
		fc.boolean().map((v) => ({ kind: 'bool' as const, v })),
		fc.maxSafeInteger().map((v) => ({ kind: 'int' as const, v: v === 0 ? 0 : v })),
		fc.double({ noNaN: true, noDefaultInfinity: true }).filter((v) => !Number.isInteger(v)).map((v) => ({ kind: 'double' as const, v })),
		fc.array(tie('value'), { maxLength: 3 }).map((v) => ({ kind: 'array' as const, v })),
		fc.uniqueArray(fc.tuple(keyArb, tie('value')), { maxLength: 3, selector: ([key]) => key }).map((v) => ({ kind: 'kvlist' as const, v }))
	)
})).value;

const attributesArb = fc.uniqueArray(fc.tuple(keyArb, valueArb), { maxLength: 4, selector: ([key]) => key });

function expectedValue(value: Value): JsonValue {
	switch (value.kind) {
		case 'string':
			return value.v.length <= MAX_OTLP_STRING_CHARS ? value.v : `${value.v.slice(0, MAX_OTLP_STRING_CHARS)}… [truncated: ${value.v.length} characters in all]`;
		case 'array':
			return value.v.map(expectedValue);
		case 'kvlist':
			return Object.fromEntries(value.v.map(([k, v]) => [k, expectedValue(v)]));
		default:
			return value.v;
	}
}

/** The value as the SDK holds it (the serializers turn it into AnyValue). */
function sdkValue(value: Value): unknown {
	if (value.kind === 'array') return value.v.map(sdkValue);
	if (value.kind === 'kvlist') return Object.fromEntries(value.v.map(([k, v]) => [k, sdkValue(v)]));
	return value.v;
}

/** AnyValue in OTLP/JSON, spelled the ways the spec allows (`alt`: ints as numbers). */
function jsonValue(value: Value, alt: boolean): unknown {
	switch (value.kind) {
		case 'string':
			return { stringValue: value.v };
		case 'bool':
			return { boolValue: value.v };
		case 'int':
			return { intValue: alt ? value.v : String(value.v) };
		case 'double':
			return { doubleValue: value.v };
		case 'array':
			return { arrayValue: { values: value.v.map((v) => jsonValue(v, alt)) } };
		case 'kvlist':
			return { kvlistValue: { values: value.v.map(([key, v]) => ({ key, value: jsonValue(v, alt) })) } };
	}
}

const hexArb = (digits: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${digits}}$`)).filter((s) => !/^0+$/.test(s));
/** 2000-01-01 to 2100-01-01 in nanoseconds. */
const nanosArb = fc.bigInt({ min: 946_684_800_000_000_000n, max: 4_102_444_800_000_000_000n });

interface ModelSpan {
	traceId: string;
	spanId: string;
	parentSpanId?: string;
	name: string;
	start: bigint;
	end: bigint;
	attributes: [string, Value][];
	events: { name: string; time: bigint; attributes: [string, Value][] }[];
	status: { code: 0 | 1 | 2; message?: string };
}

const modelSpanArb: fc.Arbitrary<ModelSpan> = fc
	.record({
		traceId: hexArb(32),
		spanId: hexArb(16),
		parentSpanId: fc.option(hexArb(16), { nil: undefined }),
		name: fc.string({ maxLength: 20 }),
		start: nanosArb,
		duration: fc.bigInt({ min: 0n, max: 10n ** 12n }),
		attributes: attributesArb,
		events: fc.array(fc.record({ name: fc.string({ maxLength: 10 }), time: nanosArb, attributes: attributesArb }), { maxLength: 2 }),
		status: fc.record({ code: fc.constantFrom<0 | 1 | 2>(0, 1, 2), message: fc.string({ maxLength: 10 }) }, { requiredKeys: ['code'] })
	})
	.map(({ duration, parentSpanId, ...span }) => ({ ...span, end: span.start + duration, ...(parentSpanId ? { parentSpanId } : {}) }));

function expectedSpan(span: ModelSpan, resource: [string, Value][]): ReceivedSpan {
	const out: ReceivedSpan = {
		traceId: span.traceId.toLowerCase(),
		spanId: span.spanId.toLowerCase(),
		name: span.name,
		startNanos: span.start,
		endNanos: span.end,
		attributes: Object.fromEntries(span.attributes.map(([k, v]) => [k, expectedValue(v)])),
		events: span.events.map((e) => ({ name: e.name, timeNanos: e.time, attributes: Object.fromEntries(e.attributes.map(([k, v]) => [k, expectedValue(v)])) })),
		status: { code: (['unset', 'ok', 'error'] as const)[span.status.code], ...(span.status.message ? { message: span.status.message } : {}) },
		resource: Object.fromEntries(resource.map(([k, v]) => [k, expectedValue(v)]))
	};
	if (span.parentSpanId) out.parentSpanId = span.parentSpanId.toLowerCase();
	return out;
}

const hrTime = (nanos: bigint): [number, number] => [Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)];

/** The span as the SDK hands it to an exporter. */
function readableSpan(span: ModelSpan, resource: { attributes: Record<string, unknown> }): ReadableSpan {
	const attributes = (list: [string, Value][]) => Object.fromEntries(list.map(([k, v]) => [k, sdkValue(v)]));
	return {
		name: span.name,
		kind: 0,
		spanContext: () => ({ traceId: span.traceId.toLowerCase(), spanId: span.spanId.toLowerCase(), traceFlags: 1 }),
		parentSpanContext: span.parentSpanId ? { traceId: span.traceId.toLowerCase(), spanId: span.parentSpanId.toLowerCase(), traceFlags: 1 } : undefined,
		startTime: hrTime(span.start),
		endTime: hrTime(span.end),
		status: span.status.message === undefined ? { code: span.status.code } : { code: span.status.code, message: span.status.message },
		attributes: attributes(span.attributes),
		links: [],
		events: span.events.map((e) => ({ name: e.name, time: hrTime(e.time), attributes: attributes(e.attributes) })),
		duration: hrTime(span.end - span.start),
		ended: true,
		resource,
		instrumentationScope: { name: 'property-test' },
		droppedAttributesCount: 0,
		droppedEventsCount: 0,
		droppedLinksCount: 0
	} as unknown as ReadableSpan;
}

/** The span in OTLP/JSON written by hand: ids in either case, ints as numbers or strings, enums as names. */
function spanJson(span: ModelSpan, alt: boolean): Record<string, unknown> {
	const attributes = (list: [string, Value][]) => list.map(([key, v]) => ({ key, value: jsonValue(v, alt) }));
	const statusNames = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
	return {
		traceId: span.traceId,
		spanId: span.spanId,
		...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : alt ? { parentSpanId: '' } : {}),
		name: span.name,
		kind: alt ? 'SPAN_KIND_INTERNAL' : 1,
		startTimeUnixNano: alt && span.start <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(span.start) : String(span.start),
		endTimeUnixNano: String(span.end),
		attributes: attributes(span.attributes),
		events: span.events.map((e) => ({ name: e.name, timeUnixNano: String(e.time), attributes: attributes(e.attributes) })),
		status: { code: alt ? statusNames[span.status.code] : span.status.code, ...(span.status.message !== undefined ? { message: span.status.message } : {}) },
		// Fields Runwatch does not read are ignored.
		droppedAttributesCount: 0,
		links: [],
		flags: 257
	};
}

const spanJsonArb = fc.tuple(modelSpanArb, fc.boolean()).map(([span, alt]) => spanJson(span, alt));

const requestArb = fc
	.record({ spans: fc.array(modelSpanArb, { minLength: 1, maxLength: 4 }), resource: attributesArb, alt: fc.boolean() })
	.map(({ spans, resource, alt }) => {
		const resourceAttributes: [string, Value][] = [['service.name', { kind: 'string', v: 'svc' }], ...resource.filter(([k]) => k !== 'service.name')];
		return {
			spans,
			resource: resourceAttributes,
			json: {
				resourceSpans: [
					{
						resource: { attributes: resourceAttributes.map(([key, v]) => ({ key, value: jsonValue(v, alt) })) },
						scopeSpans: [{ scope: { name: 'hand' }, spans: spans.map((span) => spanJson(span, alt)) }]
					}
				]
			}
		};
	});

describe('valid requests decode to the spans they encode', () => {
	test.each<[string, OtlpEncoding]>([
		['exporter-trace-otlp-proto', 'protobuf'],
		['exporter-trace-otlp-http', 'json']
	])('%s bytes', async (_name, encoding) => {
		await fc.assert(
			fc.asyncProperty(requestArb, fc.boolean(), async ({ spans, resource }, gzip) => {
				const sdkResource = { attributes: Object.fromEntries(resource.map(([k, v]) => [k, sdkValue(v)])) };
				const readable = spans.map((span) => readableSpan(span, sdkResource));
				const bytes = (encoding === 'protobuf' ? ProtobufTraceSerializer : JsonTraceSerializer).serializeRequest(readable)!;
				const request = await readTraceRequest(source(gzip ? gzipSync(bytes) : bytes, gzip ? 'gzip' : 'identity'), encoding);
				expect(request.rejected).toBe(0);
				expect(request.spans).toEqual(spans.map((span) => expectedSpan(span, resource)));
			}),
			{ numRuns: RUNS }
		);
	}, 20_000);

	test('hand-written OTLP/JSON, in the spec’s other spellings', () => {
		fc.assert(
			fc.property(requestArb, ({ spans, resource, json }) => {
				const request = checkTraceRequest(decodeBody(Buffer.from(JSON.stringify(json)), 'json'));
				expect(request.rejected).toBe(0);
				expect(request.spans).toEqual(spans.map((span) => expectedSpan(span, resource)));
			}),
			{ numRuns: RUNS }
		);
	});

	test('a status code that is no known code or name is unset', () => {
		fc.assert(
			fc.property(spanJsonArb, fc.oneof(fc.string({ maxLength: 12 }), trickyKeyArb, fc.integer(), jsonArb.filter((v) => typeof v === 'number')), (span, code) => {
				fc.pre(![0, 1, 2, '0', '1', '2', 'STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'].includes(code as never));
				const request = checkTraceRequest(wrapOne({ ...span, status: { code } }));
				for (const s of request.spans) expect(s.status).toEqual({ code: 'unset' });
			}),
			{ numRuns: RUNS }
		);
	});
});

describe('protobuf conversion', () => {
	// Requests in protobufjs's object form, every field optional, every AnyValue member possibly
	// set at once, 64-bit values across their whole range, ids of any length (empty too).
	const bytesArb = fc.uint8Array({ maxLength: 20 });
	const { anyValue } = fc.letrec<{ anyValue: Record<string, unknown>; keyValue: Record<string, unknown> }>((tie) => ({
		anyValue: fc.record(
			{
				stringValue: fc.string(),
				boolValue: fc.boolean(),
				intValue: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
				doubleValue: fc.double(),
				arrayValue: fc.record({ values: fc.array(tie('anyValue'), { maxLength: 3 }) }, { requiredKeys: [] }),
				kvlistValue: fc.record({ values: fc.array(tie('keyValue'), { maxLength: 3 }) }, { requiredKeys: [] }),
				bytesValue: bytesArb
			},
			{ requiredKeys: [] }
		),
		keyValue: fc.record({ key: fc.string(), value: tie('anyValue') }, { requiredKeys: [] })
	}));
	const keyValues = fc.array(fc.record({ key: fc.string(), value: anyValue }, { requiredKeys: [] }), { maxLength: 3 });
	const nanos = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
	const span = fc.record(
		{
			traceId: bytesArb,
			spanId: bytesArb,
			parentSpanId: bytesArb,
			name: fc.string(),
			kind: fc.integer({ min: -5, max: 5 }),
			startTimeUnixNano: nanos,
			endTimeUnixNano: nanos,
			attributes: keyValues,
			events: fc.array(fc.record({ timeUnixNano: nanos, name: fc.string(), attributes: keyValues }, { requiredKeys: [] }), { maxLength: 2 }),
			status: fc.record({ message: fc.string(), code: fc.integer({ min: -3, max: 3 }) }, { requiredKeys: [] })
		},
		{ requiredKeys: [] }
	);
	const request = fc.record(
		{
			resourceSpans: fc.array(
				fc.record(
					{
						resource: fc.record({ attributes: keyValues }, { requiredKeys: [] }),
						scopeSpans: fc.array(
							fc.record({ scope: fc.record({ name: fc.string(), version: fc.string() }, { requiredKeys: [] }), spans: fc.array(span, { maxLength: 3 }) }, { requiredKeys: [] }),
							{ maxLength: 2 }
						)
					},
					{ requiredKeys: [] }
				),
				{ maxLength: 2 }
			)
		},
		{ requiredKeys: [] }
	);

	test('the hand-written conversion makes what protobufjs toObject (and ids in hex) makes', () => {
		fc.assert(
			fc.property(request, (object) => {
				const bytes = encodeTraceRequest(object);
				expect(decodeTraceRequest(bytes)).toStrictEqual(decodeTraceRequestGeneric(bytes));
			}),
			{ numRuns: 300 }
		);
	});

	test('the wire reader reads every such request itself (no fallback), and so does protobufjs', () => {
		fc.assert(
			fc.property(request, (object) => {
				const bytes = encodeTraceRequest(object);
				const generic = decodeTraceRequestGeneric(bytes);
				expect(readTraceRequestBytes(bytes)).toStrictEqual(generic);
				expect(decodeTraceRequestWithProtobufjs(bytes)).toStrictEqual(generic);
			}),
			{ numRuns: 300 }
		);
	});

	// Near-valid bytes reach the wire reader's edges (wrong wire types, fields given twice, cut
	// varints and lengths) far more often than random ones: it must make what protobufjs makes, or
	// leave the request to it.
	test('valid requests cut, spliced or with bytes changed: the wire reader agrees with protobufjs or leaves it to it', () => {
		const outcome = (decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array) => {
			try {
				return decode(bytes);
			} catch (error) {
				return String(error);
			}
		};
		const edit = fc.oneof(
			fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
			fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
			fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) })
		);
		fc.assert(
			fc.property(request, fc.array(edit, { minLength: 1, maxLength: 3 }), (object, edits) => {
				let bytes = Buffer.from(encodeTraceRequest(object));
				for (const change of edits) {
					if (bytes.length === 0) break;
					const at = change.at % bytes.length;
					if (change.kind === 'set') bytes[at] = change.byte;
					else if (change.kind === 'cut') bytes = bytes.subarray(0, at);
					else bytes = Buffer.concat([bytes.subarray(0, at + change.length), bytes.subarray(at)]);
				}
				const generic = outcome(decodeTraceRequestGeneric, bytes);
				const read = outcome(readTraceRequestBytes, bytes);
				if (read !== undefined) expect(read).toStrictEqual(generic);
				expect(outcome(decodeTraceRequest, bytes)).toStrictEqual(generic);
			}),
			{ numRuns: 1000 }
		);
	});

	test('and the same on any bytes: the same request or the same error', () => {
		fc.assert(
			fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
				const outcome = (decode: (bytes: Uint8Array) => unknown) => {
					try {
						return decode(bytes);
					} catch (error) {
						return String(error);
					}
				};
				expect(outcome(decodeTraceRequest)).toStrictEqual(outcome(decodeTraceRequestGeneric));
			}),
			{ numRuns: 500 }
		);
	});
});
