import { truncate, type JsonValue, type OtlpSpan, type OtlpSpanEvent } from './schema.js';

/*
 * The common case of `spanSchema` without zod. The benchmark (`npm run bench -- --scenario otlp`)
 * found zod's parse of each span, with its unions, lazies and transforms, costing several times
 * the protobuf decode and the mapping together. `readSpan` accepts only what it checks entirely
 * by hand, and returns exactly what `spanSchema` would; anything it is not sure of (a wrong type,
 * a null where zod wants undefined, a bad id, time or nesting) makes it return `undefined`, and
 * the caller asks `spanSchema`, which decides and words the refusal. So it never accepts a span
 * zod would refuse, and a refusal still names the field (`fast-span.spec.ts` checks both).
 */

const TRACE_ID = /^[0-9a-fA-F]{32}$/;
const SPAN_ID = /^[0-9a-fA-F]{16}$/;
const UNSIGNED = /^\d{1,20}$/;
const SIGNED = /^-?\d{1,20}$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
const MAX_NANOS = 2n ** 64n;

const STATUS_CODES: Record<string, OtlpSpan['status']['code']> = {
	0: 'unset',
	1: 'ok',
	2: 'error',
	STATUS_CODE_UNSET: 'unset',
	STATUS_CODE_OK: 'ok',
	STATUS_CODE_ERROR: 'error'
};

/** Thrown inside this module only: "not sure, let zod decide". */
const UNSURE = Symbol('unsure');

type Raw = Record<string, unknown>;

function record(value: unknown): Raw {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) throw UNSURE;
	return value as Raw;
}

const nullish = (value: unknown) => value === undefined || value === null;

function id(value: unknown, pattern: RegExp, zero: string): string {
	if (typeof value !== 'string' || !pattern.test(value)) throw UNSURE;
	const lower = value.toLowerCase();
	if (lower === zero) throw UNSURE;
	return lower;
}

/** fixed64 nanoseconds: a non-negative integer number or a decimal string, below 2^64. */
function nanos(value: unknown): bigint {
	let result: bigint;
	if (typeof value === 'number') {
		if (!Number.isInteger(value) || value < 0) throw UNSURE;
		result = BigInt(value);
	} else if (typeof value === 'string' && UNSIGNED.test(value)) result = BigInt(value);
	else throw UNSURE;
	if (result >= MAX_NANOS) throw UNSURE;
	return result;
}

function optionalString(value: unknown): string | undefined {
	if (value === undefined) return undefined;
	if (typeof value !== 'string') throw UNSURE;
	return value;
}

/** `AnyValue` → plain JSON, as `anyValueSchema` does. Every field present must have its type, as zod checks them all. */
function anyValue(raw: unknown): JsonValue {
	const value = record(raw);
	const stringValue = optionalString(value.stringValue);
	const bytesValue = optionalString(value.bytesValue);
	const { boolValue, intValue, doubleValue, arrayValue, kvlistValue } = value;
	if (boolValue !== undefined && typeof boolValue !== 'boolean') throw UNSURE;

	let int: number | string | undefined;
	if (typeof intValue === 'number') {
		if (!Number.isInteger(intValue)) throw UNSURE;
		int = intValue;
	} else if (typeof intValue === 'string') {
		if (!SIGNED.test(intValue)) throw UNSURE;
		const number = Number(intValue);
		int = Number.isSafeInteger(number) ? number : intValue;
	} else if (intValue !== undefined) throw UNSURE;

	let double: number | string | undefined;
	if (typeof doubleValue === 'number') {
		if (!Number.isFinite(doubleValue)) throw UNSURE;
		double = doubleValue;
	} else if (typeof doubleValue === 'string') {
		const number = Number(doubleValue);
		double = Number.isFinite(number) && doubleValue.trim() !== '' ? number : doubleValue;
	} else if (doubleValue !== undefined) throw UNSURE;

	let array: JsonValue[] | undefined;
	if (arrayValue !== undefined) {
		const values = record(arrayValue).values;
		if (nullish(values)) array = [];
		else if (Array.isArray(values)) array = values.map(anyValue);
		else throw UNSURE;
	}
	let kvlist: Record<string, JsonValue> | undefined;
	if (kvlistValue !== undefined) {
		const values = record(kvlistValue).values;
		if (nullish(values)) kvlist = {};
		else kvlist = keyValues(values);
	}

	if (stringValue !== undefined) return truncate(stringValue);
	if (boolValue !== undefined) return boolValue;
	if (int !== undefined) return int;
	if (double !== undefined) return double;
	if (array !== undefined) return array;
	if (kvlist !== undefined) return kvlist;
	if (bytesValue !== undefined) return truncate(bytesValue);
	return null;
}

/** A `KeyValue` list as one object (a repeated key keeps its last value; "__proto__" stays a key). */
function keyValues(list: unknown): Record<string, JsonValue> {
	if (!Array.isArray(list)) throw UNSURE;
	const entries: [string, JsonValue][] = [];
	for (const raw of list) {
		const kv = record(raw);
		if (typeof kv.key !== 'string') throw UNSURE;
		entries.push([kv.key, nullish(kv.value) ? null : anyValue(kv.value)]);
	}
	return Object.fromEntries(entries);
}

function attributes(value: unknown): Record<string, JsonValue> {
	return nullish(value) ? {} : keyValues(value);
}

function spanEvent(raw: unknown): OtlpSpanEvent {
	const event = record(raw);
	if (!nullish(event.name) && typeof event.name !== 'string') throw UNSURE;
	const time = nullish(event.timeUnixNano) ? undefined : nanos(event.timeUnixNano);
	const out: OtlpSpanEvent = { name: (event.name as string | null | undefined) ?? '', attributes: attributes(event.attributes) };
	if (time) out.timeNanos = time;
	return out;
}

function status(raw: unknown): OtlpSpan['status'] {
	if (nullish(raw)) return { code: 'unset' };
	const value = record(raw);
	const { code, message } = value;
	if (!nullish(code) && !(typeof code === 'number' && Number.isFinite(code)) && typeof code !== 'string') throw UNSURE;
	if (!nullish(message) && typeof message !== 'string') throw UNSURE;
	const name = Object.hasOwn(STATUS_CODES, String(code ?? 0)) ? STATUS_CODES[String(code ?? 0)]! : 'unset';
	return message ? { code: name, message: message as string } : { code: name };
}

function read(raw: unknown): OtlpSpan {
	const span = record(raw);
	const traceId = id(span.traceId, TRACE_ID, ZERO_TRACE_ID);
	const spanId = id(span.spanId, SPAN_ID, ZERO_SPAN_ID);
	const parent = span.parentSpanId;
	const parentSpanId = nullish(parent) || parent === '' ? undefined : id(parent, SPAN_ID, ZERO_SPAN_ID);
	if (!nullish(span.name) && typeof span.name !== 'string') throw UNSURE;
	const startNanos = nanos(span.startTimeUnixNano);
	const endNanos = nanos(span.endTimeUnixNano);
	if (startNanos === 0n || endNanos === 0n || endNanos < startNanos) throw UNSURE;
	let events: OtlpSpanEvent[] = [];
	if (!nullish(span.events)) {
		if (!Array.isArray(span.events)) throw UNSURE;
		events = span.events.map(spanEvent);
	}
	const out: OtlpSpan = {
		traceId,
		spanId,
		name: (span.name as string | null | undefined) ?? '',
		startNanos,
		endNanos,
		attributes: attributes(span.attributes),
		events,
		status: status(span.status)
	};
	if (parentSpanId) out.parentSpanId = parentSpanId;
	return out;
}

/** The span `spanSchema` would make of `raw`, or `undefined` when only `spanSchema` can say (including every span it refuses). */
export function readSpan(raw: unknown): OtlpSpan | undefined {
	try {
		return read(raw);
	} catch (error) {
		if (error === UNSURE) return undefined;
		// Anything else (e.g. nesting deep enough to overflow the stack): zod decides.
		return undefined;
	}
}
