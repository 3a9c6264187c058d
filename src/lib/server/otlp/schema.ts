import { z } from 'zod';
import { MAX_OTLP_STRING_CHARS } from '../../protocol/limits.js';

/*
 * OTLP/JSON as the spec writes it (and as the protobuf decoder in proto.ts renders the binary
 * encoding), checked with zod and turned into plain values. The quirks handled here:
 * - trace and span ids are hex strings (not base64, unlike protobuf's generic JSON mapping);
 * - 64-bit integers (`timeUnixNano`, `intValue`) may be decimal strings or numbers;
 * - enums (`status.code`) may be integers or their names;
 * - attribute values are `AnyValue` objects ({ stringValue } | { intValue } | ... | {} for null);
 * - unknown fields are ignored, as the spec requires of receivers.
 * The request's outline is checked here; each span on its own (`spanSchema`), so that one bad
 * span is refused and counted while the others are kept.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A span, checked and normalised: ids lowercase hex, times as bigint nanoseconds, attributes as plain JSON. */
export interface OtlpSpan {
	traceId: string;
	spanId: string;
	parentSpanId?: string;
	name: string;
	startNanos: bigint;
	endNanos: bigint;
	attributes: Record<string, JsonValue>;
	events: OtlpSpanEvent[];
	status: { code: 'unset' | 'ok' | 'error'; message?: string };
}

export interface OtlpSpanEvent {
	name: string;
	timeNanos?: bigint;
	attributes: Record<string, JsonValue>;
}

/** Cuts a string past MAX_OTLP_STRING_CHARS, and says so in the value itself. */
export function truncate(text: string): string {
	if (text.length <= MAX_OTLP_STRING_CHARS) return text;
	return `${text.slice(0, MAX_OTLP_STRING_CHARS)}… [truncated: ${text.length} characters in all]`;
}

const integral = z.number().refine(Number.isInteger, 'must be an integer');

/** int64 as a JSON number, or as the decimal string OTLP/JSON prefers. Exact when it fits a double. */
const int64Value = z.union([integral, z.string().regex(/^-?\d{1,20}$/, 'must be a decimal integer')]).transform((value) => {
	if (typeof value === 'number') return value;
	const number = Number(value);
	return Number.isSafeInteger(number) ? number : value;
});

/** A double, or the strings protobuf's JSON mapping uses for what JSON cannot hold ("NaN", "Infinity", "1.5"). */
const doubleValue = z.union([z.number(), z.string()]).transform((value): number | string => {
	if (typeof value === 'number') return value;
	const number = Number(value);
	return Number.isFinite(number) && value.trim() !== '' ? number : value;
});

/** Unsigned nanoseconds since the epoch (fixed64): a decimal string or a number. 0 means "not set". */
const nanosSchema = z
	.union([z.number().nonnegative().refine(Number.isInteger, 'must be an integer'), z.string().regex(/^\d{1,20}$/, 'must be a decimal integer')])
	.transform((value) => BigInt(value))
	.refine((value) => value < 2n ** 64n, 'must fit in 64 bits');

function hexId(digits: number) {
	const zero = '0'.repeat(digits);
	return z
		.string()
		.regex(new RegExp(`^[0-9a-fA-F]{${digits}}$`), `must be ${digits} hex digits`)
		.transform((value) => value.toLowerCase())
		.refine((value) => value !== zero, 'must not be all zeros');
}

interface AnyValueInput {
	stringValue?: string;
	boolValue?: boolean;
	intValue?: number | string;
	doubleValue?: number | string;
	arrayValue?: { values?: JsonValue[] | null };
	kvlistValue?: { values?: [string, JsonValue][] | null };
	bytesValue?: string;
}

function anyValueToJson(value: AnyValueInput): JsonValue {
	if (value.stringValue !== undefined) return truncate(value.stringValue);
	if (value.boolValue !== undefined) return value.boolValue;
	if (value.intValue !== undefined) return value.intValue;
	if (value.doubleValue !== undefined) return value.doubleValue;
	if (value.arrayValue !== undefined) return value.arrayValue.values ?? [];
	// fromEntries defines own properties: a key "__proto__" stays a key.
	if (value.kvlistValue !== undefined) return Object.fromEntries(value.kvlistValue.values ?? []);
	if (value.bytesValue !== undefined) return truncate(value.bytesValue); // base64, as sent
	return null;
}

/** `AnyValue` → the plain JSON value it stands for. Nesting is bounded before this runs (JSON depth limit, protobufjs's recursion limit). */
export const anyValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
	z
		.looseObject({
			stringValue: z.string().optional(),
			boolValue: z.boolean().optional(),
			intValue: int64Value.optional(),
			doubleValue: doubleValue.optional(),
			arrayValue: z.looseObject({ values: z.array(anyValueSchema).nullish() }).optional(),
			kvlistValue: z.looseObject({ values: z.array(keyValueSchema).nullish() }).optional(),
			bytesValue: z.string().optional()
		})
		.transform(anyValueToJson)
);

const keyValueSchema: z.ZodType<[string, JsonValue]> = z
	.looseObject({ key: z.string(), value: z.lazy(() => anyValueSchema).nullish() })
	.transform((kv): [string, JsonValue] => [kv.key, kv.value ?? null]);

/** A `KeyValue` list as one object; a repeated key keeps its last value. */
export const attributesSchema = z
	.array(keyValueSchema)
	.nullish()
	.transform((list) => Object.fromEntries(list ?? []) as Record<string, JsonValue>);

const STATUS_CODES = { 0: 'unset', 1: 'ok', 2: 'error', STATUS_CODE_UNSET: 'unset', STATUS_CODE_OK: 'ok', STATUS_CODE_ERROR: 'error' } as const;

const statusSchema = z
	.looseObject({
		code: z.union([z.number(), z.string()]).nullish(),
		message: z.string().nullish()
	})
	.nullish()
	.transform((status): OtlpSpan['status'] => {
		const key = String(status?.code ?? 0);
		// Own keys only: a code such as "constructor" must not pick up Object.prototype's.
		const code = Object.hasOwn(STATUS_CODES, key) ? STATUS_CODES[key as keyof typeof STATUS_CODES] : 'unset';
		return status?.message ? { code, message: status.message } : { code };
	});

const spanEventSchema = z
	.looseObject({
		name: z.string().nullish(),
		timeUnixNano: nanosSchema.nullish(),
		attributes: attributesSchema
	})
	.transform((event): OtlpSpanEvent => {
		const out: OtlpSpanEvent = { name: event.name ?? '', attributes: event.attributes };
		if (event.timeUnixNano) out.timeNanos = event.timeUnixNano;
		return out;
	});

const requiredNanos = nanosSchema.refine((value) => value > 0n, 'is missing (0)');

export const spanSchema = z
	.looseObject({
		traceId: hexId(32),
		spanId: hexId(16),
		// Absent, empty or (protobuf's default) empty bytes all mean "a root span".
		parentSpanId: z.union([z.literal(''), hexId(16)]).nullish(),
		name: z.string().nullish(),
		startTimeUnixNano: requiredNanos,
		endTimeUnixNano: requiredNanos,
		attributes: attributesSchema,
		events: z.array(spanEventSchema).nullish(),
		status: statusSchema
	})
	.refine((span) => span.endTimeUnixNano >= span.startTimeUnixNano, {
		path: ['endTimeUnixNano'],
		message: 'is before startTimeUnixNano'
	})
	.transform((span): OtlpSpan => {
		const out: OtlpSpan = {
			traceId: span.traceId,
			spanId: span.spanId,
			name: span.name ?? '',
			startNanos: span.startTimeUnixNano,
			endNanos: span.endTimeUnixNano,
			attributes: span.attributes,
			events: span.events ?? [],
			status: span.status
		};
		if (span.parentSpanId) out.parentSpanId = span.parentSpanId;
		return out;
	});

/**
 * The outline of an `ExportTraceServiceRequest`. A body that does not fit it is malformed
 * (400); spans stay unchecked here and go through `spanSchema` one by one.
 */
export const traceRequestSchema = z.looseObject({
	resourceSpans: z
		.array(
			z.looseObject({
				resource: z.looseObject({ attributes: attributesSchema }).nullish(),
				scopeSpans: z.array(z.looseObject({ spans: z.array(z.unknown()).nullish() })).nullish()
			})
		)
		.nullish()
});
