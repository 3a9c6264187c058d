import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { RunwatchError } from '../errors.js';
import { MAX_OTLP_BODY_BYTES, MAX_OTLP_STRING_CHARS } from '../../protocol/limits.js';
import { checkTraceRequest, decodeBody, encodingOf, inflate, readTraceRequest, type OtlpEncoding } from './decode.js';
import { agentTrace, jsonBytes, protobufBytes, T0 } from './testing/sdk-spans.js';

const nanos = (ms: number) => BigInt(ms) * 1_000_000n;

function body(bytes: Uint8Array | string, contentEncoding?: string) {
	const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
	return {
		contentLength: String(data.byteLength),
		contentEncoding,
		body: new ReadableStream<Uint8Array>({
			start(controller) {
				controller.enqueue(data);
				controller.close();
			}
		})
	};
}

async function failure(promise: Promise<unknown> | (() => unknown)): Promise<RunwatchError> {
	const error = await (typeof promise === 'function' ? Promise.resolve().then(promise) : promise).then(
		() => {
			throw new Error('expected a failure');
		},
		(e: unknown) => e
	);
	expect(error).toBeInstanceOf(RunwatchError);
	return error as RunwatchError;
}

/** One span in OTLP/JSON as a hand-written exporter might send it; `span` overrides fields. */
function jsonRequest(...spans: Record<string, unknown>[]): string {
	return JSON.stringify({
		resourceSpans: [
			{
				resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
				scopeSpans: [{ scope: { name: 'hand' }, spans }]
			}
		]
	});
}

const baseSpan = {
	traceId: '0af7651916cd43dd8448eb211c80319c',
	spanId: 'b7ad6b7169203331',
	name: 'step',
	kind: 1,
	startTimeUnixNano: '1767323045000000000',
	endTimeUnixNano: '1767323046000000000'
};

describe('encodingOf', () => {
	test.each([
		['application/json', 'json'],
		['application/json; charset=utf-8', 'json'],
		['application/x-protobuf', 'protobuf'],
		['Application/X-Protobuf', 'protobuf'],
		['application/protobuf', 'protobuf'],
		['text/plain', undefined],
		['application/jsonl', undefined],
		['', undefined],
		[null, undefined]
	])('%j → %s', (type, encoding) => {
		expect(encodingOf(type)).toBe(encoding);
	});
});

describe('the real exporters’ bytes', () => {
	test.each<OtlpEncoding>(['protobuf', 'json'])('%s decodes to the spans the SDK made', async (encoding) => {
		const { spans, traceId, ids } = await agentTrace();
		const bytes = Buffer.from(encoding === 'protobuf' ? protobufBytes(spans) : jsonBytes(spans));
		const request = checkTraceRequest(decodeBody(bytes, encoding));
		expect(request.rejected).toBe(0);
		expect(request.spans).toHaveLength(5);
		const byId = new Map(request.spans.map((span) => [span.spanId, span]));
		const root = byId.get(ids.root)!;
		expect(root).toMatchObject({ traceId, spanId: ids.root, name: 'invoke_agent researcher', startNanos: nanos(T0), endNanos: nanos(T0 + 1000) });
		expect(root.parentSpanId).toBeUndefined();
		expect(root.resource).toEqual({ 'service.name': 'svc', ...root.resource });
		expect(root.resource['service.name']).toBe('svc');
		const chat = byId.get(ids.chat1)!;
		expect(chat.parentSpanId).toBe(ids.root);
		expect(chat.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 20 });
		const failing = byId.get(ids.failingTool)!;
		expect(failing.status).toEqual({ code: 'error', message: 'fetch failed: 404' });
		expect(failing.events[0]).toMatchObject({ name: 'exception', timeNanos: nanos(T0 + 350), attributes: { 'exception.message': 'fetch failed: 404', 'exception.type': 'Error' } });
		expect(failing.events[0]!.attributes['exception.stacktrace']).toMatch(/fetch failed: 404\n\s+at /);
		expect(byId.get(ids.tool)!.status).toEqual({ code: 'unset' });
	});

	test('protobuf and JSON of the same spans decode the same', async () => {
		const { spans } = await agentTrace({ fail: true });
		const fromProtobuf = checkTraceRequest(decodeBody(Buffer.from(protobufBytes(spans)), 'protobuf'));
		const fromJson = checkTraceRequest(decodeBody(Buffer.from(jsonBytes(spans)), 'json'));
		expect(fromProtobuf).toEqual(fromJson);
	});
});

describe('OTLP/JSON quirks', () => {
	test('ids are hex in any case; times and ints as strings or numbers; enums as names', () => {
		const request = checkTraceRequest(
			JSON.parse(
				jsonRequest({
					...baseSpan,
					traceId: '0AF7651916CD43DD8448EB211C80319C',
					spanId: 'B7AD6B7169203331',
					parentSpanId: '00F067AA0BA902B7',
					startTimeUnixNano: 1767323045000000000,
					status: { code: 'STATUS_CODE_ERROR', message: 'no' },
					somethingNew: { ignored: true },
					attributes: [
						{ key: 'i', value: { intValue: '42' } },
						{ key: 'n', value: { intValue: 7 } },
						{ key: 'huge', value: { intValue: '9223372036854775807' } },
						{ key: 'd', value: { doubleValue: 1.5 } },
						{ key: 'nan', value: { doubleValue: 'NaN' } },
						{ key: 'b', value: { boolValue: false } },
						{ key: 's', value: { stringValue: '' } },
						{ key: 'a', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: '1' }, {}] } } },
						{ key: 'kv', value: { kvlistValue: { values: [{ key: 'inner', value: { kvlistValue: { values: [{ key: '__proto__', value: { boolValue: true } }] } } }] } } },
						{ key: 'bytes', value: { bytesValue: 'AQID' } },
						{ key: 'empty', value: {} },
						{ key: 'none' }
					]
				})
			)
		);
		expect(request.rejected).toBe(0);
		const [span] = request.spans;
		expect(span).toMatchObject({
			traceId: '0af7651916cd43dd8448eb211c80319c',
			spanId: 'b7ad6b7169203331',
			parentSpanId: '00f067aa0ba902b7',
			startNanos: 1767323045000000000n,
			endNanos: 1767323046000000000n,
			status: { code: 'error', message: 'no' }
		});
		expect(span!.attributes).toEqual({
			i: 42,
			n: 7,
			huge: '9223372036854775807',
			d: 1.5,
			nan: 'NaN',
			b: false,
			s: '',
			a: ['x', 1, null],
			kv: { inner: JSON.parse('{"__proto__":true}') },
			bytes: 'AQID',
			empty: null,
			none: null
		});
		expect(Object.getPrototypeOf((span!.attributes.kv as Record<string, unknown>).inner)).toBe(Object.prototype);
	});

	test('status code as integer 2 is an error; absent status is unset; empty parentSpanId is a root', () => {
		const request = checkTraceRequest(
			JSON.parse(jsonRequest({ ...baseSpan, parentSpanId: '', status: { code: 2 } }, { ...baseSpan, spanId: '1111111111111111' }))
		);
		expect(request.spans[0]!.status).toEqual({ code: 'error' });
		expect(request.spans[0]!.parentSpanId).toBeUndefined();
		expect(request.spans[1]!.status).toEqual({ code: 'unset' });
	});

	test('long strings are cut, and say so', () => {
		const long = 'x'.repeat(MAX_OTLP_STRING_CHARS + 10);
		const request = checkTraceRequest(JSON.parse(jsonRequest({ ...baseSpan, attributes: [{ key: 'prompt', value: { stringValue: long } }] })));
		const value = request.spans[0]!.attributes.prompt as string;
		expect(value.startsWith('x'.repeat(MAX_OTLP_STRING_CHARS))).toBe(true);
		expect(value).toMatch(/truncated: 32778 characters in all/);
	});
});

describe('invalid spans are refused one by one', () => {
	test.each([
		['base64 trace id', { traceId: 'CvdlGRbNQ92ESOshHIAxnA==' }, 'traceId'],
		['short span id', { spanId: 'abc' }, 'spanId'],
		['zero trace id', { traceId: '0'.repeat(32) }, 'traceId'],
		['bad parent id', { parentSpanId: 'xyz' }, 'parentSpanId'],
		['missing start', { startTimeUnixNano: undefined }, 'startTimeUnixNano'],
		['zero end', { endTimeUnixNano: '0' }, 'endTimeUnixNano'],
		['negative time', { startTimeUnixNano: '-5' }, 'startTimeUnixNano'],
		['end before start', { endTimeUnixNano: '1767323044000000000' }, 'endTimeUnixNano'],
		['attributes not a list', { attributes: { a: 1 } }, 'attributes'],
		['attribute value not AnyValue', { attributes: [{ key: 'a', value: { intValue: 'twelve' } }] }, 'attributes']
	])('%s', (_, override, field) => {
		const good = { ...baseSpan, spanId: '2222222222222222' };
		const request = checkTraceRequest(JSON.parse(jsonRequest(good, { ...baseSpan, ...override }, good)));
		expect(request.spans).toHaveLength(2);
		expect(request.rejected).toBe(1);
		expect(request.rejections).toHaveLength(1);
		expect(request.rejections[0]).toMatch(new RegExp(`^resourceSpans\\.0\\.scopeSpans\\.0\\.spans\\.1: ${field}`));
	});

	test('a span that is not an object is refused, the rest kept', () => {
		const request = checkTraceRequest(JSON.parse(jsonRequest(baseSpan, 'nope' as never, null as never)));
		expect(request.spans).toHaveLength(1);
		expect(request.rejected).toBe(2);
	});
});

describe('malformed requests (400)', () => {
	test.each([
		['not JSON', 'json', '{"resourceSpans":'],
		['resourceSpans not a list', 'json', '{"resourceSpans":{}}'],
		['a list body', 'json', '[]'],
		['scopeSpans not a list', 'json', '{"resourceSpans":[{"scopeSpans":5}]}'],
		['resource attributes malformed', 'json', '{"resourceSpans":[{"resource":{"attributes":[{"key":1}]}}]}'],
		['protobuf garbage', 'protobuf', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01])],
		['protobuf wrong wire type', 'protobuf', Buffer.from([0x0d, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x02, 0x12, 0x05])],
		['protobuf nested past the recursion limit', 'protobuf', nestedAnyValue(200)]
	] as const)('%s', async (_, encoding, payload) => {
		const error = await failure(readTraceRequest(body(payload), encoding));
		expect(error.code).toBe('invalid_body');
		expect(error.status).toBe(400);
	});

	test('an empty request is fine (nothing to store)', async () => {
		expect(await readTraceRequest(body('{}'), 'json')).toEqual({ spans: [], rejected: 0, rejections: [] });
		expect(await readTraceRequest(body(new Uint8Array()), 'protobuf')).toEqual({ spans: [], rejected: 0, rejections: [] });
	});
});

/**
 * A request whose one span has an attribute nested `depth` ArrayValues deep, written by hand on
 * the wire (each level: AnyValue.array_value (5) → ArrayValue.values (1)).
 */
function nestedAnyValue(depth: number): Buffer {
	const field = (number: number, payload: Buffer) => Buffer.concat([Buffer.from([(number << 3) | 2]), varint(payload.length), payload]);
	let value = field(1, Buffer.from('x')); // AnyValue { string_value: "x" }
	for (let i = 0; i < depth; i++) value = field(5, field(1, value));
	const keyValue = Buffer.concat([field(1, Buffer.from('k')), field(2, value)]);
	const span = field(9, keyValue);
	return field(1, field(2, field(2, span)));
}

function varint(n: number): Buffer {
	const bytes: number[] = [];
	while (n > 0x7f) {
		bytes.push((n & 0x7f) | 0x80);
		n >>>= 7;
	}
	bytes.push(n);
	return Buffer.from(bytes);
}

describe('gzip and size limits', () => {
	test('a gzipped body (either encoding) is read like a plain one', async () => {
		const { spans } = await agentTrace();
		for (const [encoding, bytes] of [['protobuf', protobufBytes(spans)], ['json', jsonBytes(spans)]] as const) {
			const request = await readTraceRequest(body(gzipSync(bytes), 'gzip'), encoding);
			expect(request.spans).toHaveLength(5);
		}
	});

	test('a gzip bomb is refused with 413 once it inflates past the limit', async () => {
		// 64 MiB of zeros: about 64 KB on the wire, eight times the limit once inflated.
		const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
		expect(bomb.byteLength).toBeLessThan(MAX_OTLP_BODY_BYTES / 50);
		const before = process.memoryUsage().arrayBuffers;
		const error = await failure(readTraceRequest(body(bomb, 'gzip'), 'json'));
		expect(error.code).toBe('payload_too_large');
		expect(error.status).toBe(413);
		expect(error.message).toMatch(/once gzip is undone/);
		// Inflating stopped at the limit: nothing near the bomb's 64 MiB was held.
		expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(2 * MAX_OTLP_BODY_BYTES);
	});

	test('inflate keeps exactly up to the limit', async () => {
		expect((await inflate(gzipSync(Buffer.alloc(1000)), 1000)).byteLength).toBe(1000);
		expect((await failure(inflate(gzipSync(Buffer.alloc(1001)), 1000))).code).toBe('payload_too_large');
	});

	test('a body over the limit on the wire is 413', async () => {
		const error = await failure(readTraceRequest(body(new Uint8Array(MAX_OTLP_BODY_BYTES + 1)), 'protobuf'));
		expect(error.code).toBe('payload_too_large');
	});

	test('bytes that are not gzip are 400', async () => {
		const error = await failure(readTraceRequest(body('{}', 'gzip'), 'json'));
		expect(error.code).toBe('invalid_body');
		expect(error.message).toMatch(/gzip/);
	});

	test.each(['deflate', 'br', 'zstd'])('Content-Encoding %s is 415', async (contentEncoding) => {
		const error = await failure(readTraceRequest(body('{}', contentEncoding), 'json'));
		expect(error.code).toBe('unsupported_media_type');
	});

	test('Content-Encoding identity is a plain body', async () => {
		expect((await readTraceRequest(body('{}', 'identity'), 'json')).spans).toEqual([]);
	});
});
