import { describe, expect, test } from 'vitest';
import { decodeBody } from './decode.js';
import { readSpan } from './fast-span.js';
import { spanSchema } from './schema.js';
import { agentTrace, jsonBytes, protobufBytes } from './testing/sdk-spans.js';

/** The spans of a decoded request, unchecked. */
function rawSpans(body: unknown): unknown[] {
	const request = body as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
	return request.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
}

/** The one rule: the fast path gives zod's answer, or leaves the span to zod. */
function agrees(raw: unknown): 'fast' | 'zod' {
	const fast = readSpan(raw);
	const slow = spanSchema.safeParse(raw);
	if (fast === undefined) return 'zod';
	expect(slow.success, `fast path accepted what zod refuses: ${JSON.stringify(raw)}`).toBe(true);
	expect(fast).toEqual(slow.data);
	return 'fast';
}

const base = {
	traceId: '0af7651916cd43dd8448eb211c80319c',
	spanId: 'b7ad6b7169203331',
	parentSpanId: '00f067aa0ba902b7',
	name: 'chat',
	startTimeUnixNano: '1767323045000000000',
	endTimeUnixNano: '1767323046000000000',
	attributes: [
		{ key: 's', value: { stringValue: 'x' } },
		{ key: 'i', value: { intValue: '42' } },
		{ key: 'a', value: { arrayValue: { values: [{ stringValue: 'x' }, { doubleValue: 1.5 }, {}] } } },
		{ key: 'kv', value: { kvlistValue: { values: [{ key: '__proto__', value: { boolValue: true } }] } } }
	],
	events: [{ name: 'exception', timeUnixNano: '1767323045500000000', attributes: [{ key: 'exception.message', value: { stringValue: 'boom' } }] }],
	status: { code: 2, message: 'boom' }
};

describe('readSpan agrees with spanSchema', () => {
	test('on what the real exporters send (both encodings): and takes it all itself', async () => {
		const { spans } = await agentTrace({ fail: true });
		for (const [bytes, encoding] of [
			[protobufBytes(spans), 'protobuf'],
			[jsonBytes(spans), 'json']
		] as const) {
			const raws = rawSpans(decodeBody(Buffer.from(bytes), encoding));
			expect(raws.length).toBe(spans.length);
			for (const raw of raws) expect(agrees(raw)).toBe('fast');
		}
	});

	test('on the OTLP/JSON quirks', () => {
		expect(agrees(base)).toBe('fast');
		expect(agrees({ ...base, traceId: base.traceId.toUpperCase(), parentSpanId: '', status: { code: 'STATUS_CODE_OK' } })).toBe('fast');
		expect(agrees({ ...base, startTimeUnixNano: 1767323045000000000, parentSpanId: null, name: null, attributes: null, events: null, status: null })).toBe('fast');
		expect(agrees({ ...base, status: { code: 'constructor' } })).toBe('fast');
		expect(agrees({ ...base, attributes: [{ key: 'huge', value: { intValue: '9223372036854775807' } }, { key: 'nan', value: { doubleValue: 'NaN' } }, { key: 'none' }] })).toBe('fast');
	});

	// A small property test: every field of a good span swapped for values of every awkward kind.
	const awkward: unknown[] = [
		undefined, null, '', ' ', 0, -1, 1.5, 2 ** 64, Number.MAX_SAFE_INTEGER + 2, '0', '-5', '18446744073709551616', '99999999999999999999',
		'abc', '0'.repeat(16), '0'.repeat(32), 'f'.repeat(16), 'F'.repeat(32), true, [], [{}], [{ key: 1 }], [{ key: 'k', value: null }],
		[{ key: 'k', value: { stringValue: null } }], [{ key: 'k', value: { intValue: 'x' } }], [{ key: 'k', value: { boolValue: 'yes' } }],
		[{ key: 'k', value: { arrayValue: null } }], [{ key: 'k', value: { arrayValue: { values: 'no' } } }], [{ key: 'k', value: { kvlistValue: { values: [{ key: 'a' }] } } }],
		[{ key: 'k', value: { stringValue: 'a', intValue: 'bad' } }], [{ key: 'k', value: [] }], {}, { code: 'toString' }, { code: 7 }, { code: '2' }, { message: 5 },
		[{ name: 'e', timeUnixNano: 0 }], [{ name: 5 }], [null], 'STATUS_CODE_ERROR'
	];
	test.each(Object.keys(base))('with %s swapped for awkward values', (field) => {
		const seen = { fast: 0, zod: 0 };
		for (const value of awkward) seen[agrees({ ...base, [field]: value })]++;
		expect(seen.fast + seen.zod).toBe(awkward.length);
	});

	test('on things that are not spans', () => {
		for (const raw of [null, undefined, 'span', 5, [], [base]]) expect(agrees(raw)).toBe('zod');
	});
});
