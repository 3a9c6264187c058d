import protobuf from 'protobufjs';
import { readTraceRequestBytes, signedString, unsignedString } from './proto-reader.js';

/*
 * OTLP/HTTP's binary encoding, through protobufjs (well kept, used by grpc-js; no native code).
 * The OpenTelemetry JS packages only encode requests and decode responses, the other way round
 * from what a receiver needs. The messages below are copied from opentelemetry-proto
 * (collector/trace/v1/trace_service.proto, trace/v1/trace.proto, common/v1/common.proto,
 * resource/v1/resource.proto) with only the fields Runwatch reads; protobuf skips the others
 * (links, trace state, dropped counts, fields added later), as it must.
 */
const PROTO = `
syntax = "proto3";
package otlp;

message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }

message ResourceSpans {
  Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
}
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans {
  InstrumentationScope scope = 1;
  repeated Span spans = 2;
}
message InstrumentationScope { string name = 1; string version = 2; }

message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  repeated Event events = 11;
  Status status = 15;

  message Event {
    fixed64 time_unix_nano = 1;
    string name = 2;
    repeated KeyValue attributes = 3;
  }
}
message Status {
  string message = 2;
  int32 code = 3;
}

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue {
  string key = 1;
  AnyValue value = 2;
}

message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
message ExportTracePartialSuccess {
  int64 rejected_spans = 1;
  string error_message = 2;
}

// google.rpc.Status, the body of every 4xx and 5xx answer (details left empty).
message RpcStatus {
  int32 code = 1;
  string message = 2;
}
`;

// Enums are read as plain int32 (same varint on the wire): an unknown value then stays a number
// instead of being turned into something else, and the JSON path sees the same shape.
const root = protobuf.parse(PROTO, { keepCase: false }).root;
const Request = root.lookupType('otlp.ExportTraceServiceRequest');
const Response = root.lookupType('otlp.ExportTraceServiceResponse');
const RpcStatus = root.lookupType('otlp.RpcStatus');

/** How `toObject` renders what JSON cannot hold natively, matching OTLP/JSON: int64 as decimal strings, bytes as base64. */
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, bytes: String, defaults: false, arrays: false };

/**
 * Decodes an `ExportTraceServiceRequest` into the shape of its OTLP/JSON encoding (camelCase
 * fields, int64 as strings, trace and span ids as lowercase hex), so one zod schema checks both
 * encodings. Throws on bytes that are not the message (protobufjs also caps nesting at 100).
 * Read straight off the wire (proto-reader.ts) when it can be; protobufjs decides the rest.
 */
export function decodeTraceRequest(bytes: Uint8Array): unknown {
	return readTraceRequestBytes(bytes) ?? decodeTraceRequestWithProtobufjs(bytes);
}

/** The same through protobufjs's decode (every request, well formed or not). */
export function decodeTraceRequestWithProtobufjs(bytes: Uint8Array): unknown {
	return plainRequest(Request.decode(bytes) as unknown as Message);
}

/*
 * What `Request.toObject(message, TO_OBJECT)` makes, with ids turned from base64 into hex,
 * written out for these messages: protobufjs's generic `toObject` rendered every 64-bit time
 * through `Long#toString` and every id through base64 and back, which cost more than the
 * decoding itself. The same rules: a field is there when the decoded message has it as its own
 * (proto3 leaves out defaults), an empty repeated field is left out, fields in declaration order.
 * `decode.property.spec.ts` checks it against `toObject` on generated requests.
 */
type Message = Record<string, unknown>;
type Plain = Record<string, unknown>;

const has = (m: Message, field: string) => m[field] != null && Object.hasOwn(m, field);
const many = (m: Message, field: string) => (m[field] as Message[] | undefined)?.length;

/** A decoded 64-bit integer (a `Long`, or a number without the long package) as `toObject` writes it with `longs: String`. */
function longString(value: unknown): string {
	if (typeof value === 'number') return String(value);
	const { low, high, unsigned } = value as { low: number; high: number; unsigned: boolean };
	return unsigned ? unsignedString(low >>> 0, high >>> 0) : signedString(low >>> 0, high >>> 0);
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const base64 = (bytes: Uint8Array) => protobuf.util.base64.encode(bytes, 0, bytes.length);

function depth(q: number): number {
	if (q > protobuf.util.recursionLimit) throw Error('max depth exceeded');
	return q + 1;
}

function plainRequest(m: Message): Plain {
	const d: Plain = {};
	if (many(m, 'resourceSpans')) d.resourceSpans = (m.resourceSpans as Message[]).map((r) => plainResourceSpans(r, 1));
	return d;
}

function plainResourceSpans(m: Message, q: number): Plain {
	q = depth(q);
	const d: Plain = {};
	if (has(m, 'resource')) {
		const resource = m.resource as Message;
		d.resource = many(resource, 'attributes') ? { attributes: plainKeyValues(resource.attributes as Message[], depth(q)) } : (depth(q), {});
	}
	if (many(m, 'scopeSpans')) d.scopeSpans = (m.scopeSpans as Message[]).map((s) => plainScopeSpans(s, q));
	return d;
}

function plainScopeSpans(m: Message, q: number): Plain {
	q = depth(q);
	const d: Plain = {};
	if (has(m, 'scope')) {
		depth(q);
		d.scope = plainFields(m.scope as Message, ['name', 'version']);
	}
	if (many(m, 'spans')) d.spans = (m.spans as Message[]).map((span) => plainSpan(span, q));
	return d;
}

function plainSpan(m: Message, q: number): Plain {
	q = depth(q);
	const d: Plain = {};
	if (has(m, 'traceId')) d.traceId = hex(m.traceId as Uint8Array);
	if (has(m, 'spanId')) d.spanId = hex(m.spanId as Uint8Array);
	if (has(m, 'parentSpanId')) d.parentSpanId = hex(m.parentSpanId as Uint8Array);
	if (has(m, 'name')) d.name = m.name;
	if (has(m, 'kind')) d.kind = m.kind;
	if (has(m, 'startTimeUnixNano')) d.startTimeUnixNano = longString(m.startTimeUnixNano);
	if (has(m, 'endTimeUnixNano')) d.endTimeUnixNano = longString(m.endTimeUnixNano);
	if (many(m, 'attributes')) d.attributes = plainKeyValues(m.attributes as Message[], q);
	if (many(m, 'events')) d.events = (m.events as Message[]).map((event) => plainEvent(event, q));
	if (has(m, 'status')) {
		depth(q);
		d.status = plainFields(m.status as Message, ['message', 'code']);
	}
	return d;
}

/** The scalar fields of a message that are set, in this order. */
function plainFields(m: Message, names: readonly string[]): Plain {
	const out: Plain = {};
	for (const name of names) if (has(m, name)) out[name] = m[name];
	return out;
}

function plainEvent(m: Message, q: number): Plain {
	q = depth(q);
	const d: Plain = {};
	if (has(m, 'timeUnixNano')) d.timeUnixNano = longString(m.timeUnixNano);
	if (has(m, 'name')) d.name = m.name;
	if (many(m, 'attributes')) d.attributes = plainKeyValues(m.attributes as Message[], q);
	return d;
}

function plainKeyValues(list: Message[], q: number): Plain[] {
	const out = new Array<Plain>(list.length);
	for (let i = 0; i < list.length; i++) {
		const m = list[i]!;
		const kq = depth(q);
		const d: Plain = {};
		if (has(m, 'key')) d.key = m.key;
		if (has(m, 'value')) d.value = plainAnyValue(m.value as Message, kq);
		out[i] = d;
	}
	return out;
}

function plainAnyValue(m: Message, q: number): Plain {
	q = depth(q);
	const d: Plain = {};
	if (has(m, 'stringValue')) d.stringValue = m.stringValue;
	if (has(m, 'boolValue')) d.boolValue = m.boolValue;
	if (has(m, 'intValue')) d.intValue = longString(m.intValue);
	if (has(m, 'doubleValue')) d.doubleValue = m.doubleValue;
	if (has(m, 'arrayValue')) {
		const array = m.arrayValue as Message;
		const aq = depth(q);
		d.arrayValue = many(array, 'values') ? { values: (array.values as Message[]).map((value) => plainAnyValue(value, aq)) } : {};
	}
	if (has(m, 'kvlistValue')) {
		const kvlist = m.kvlistValue as Message;
		const kq = depth(q);
		d.kvlistValue = many(kvlist, 'values') ? { values: plainKeyValues(kvlist.values as Message[], kq) } : {};
	}
	if (has(m, 'bytesValue')) d.bytesValue = base64(m.bytesValue as Uint8Array);
	return d;
}

/** Encodes a request given in protobufjs's object form (for tests: hand-made and hostile requests). */
export function encodeTraceRequest(object: Record<string, unknown>): Uint8Array {
	return Request.encode(Request.fromObject(object)).finish();
}

/** The generic conversion the functions above stand for; kept for the spec that compares them. */
export function decodeTraceRequestGeneric(bytes: Uint8Array): unknown {
	const object = Request.toObject(Request.decode(bytes), TO_OBJECT) as {
		resourceSpans?: { scopeSpans?: { spans?: Record<string, unknown>[] }[] }[];
	};
	for (const resourceSpans of object.resourceSpans ?? []) {
		for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
			for (const span of scopeSpans.spans ?? []) {
				for (const field of ['traceId', 'spanId', 'parentSpanId'] as const) {
					if (typeof span[field] === 'string') span[field] = Buffer.from(span[field], 'base64').toString('hex');
				}
			}
		}
	}
	return object;
}

export interface PartialSuccess {
	rejectedSpans: number;
	errorMessage: string;
}

/** An `ExportTraceServiceResponse`; empty (all accepted) unless some spans were refused. */
export function encodeTraceResponse(partialSuccess?: PartialSuccess): Uint8Array<ArrayBuffer> {
	// Copied into a plain ArrayBuffer-backed array, which is what a Response body takes.
	return new Uint8Array(Response.encode(Response.fromObject(partialSuccess ? { partialSuccess } : {})).finish());
}

export function decodeTraceResponse(bytes: Uint8Array): { partialSuccess?: { rejectedSpans?: string; errorMessage?: string } } {
	return Response.toObject(Response.decode(bytes), TO_OBJECT);
}

/** A `google.rpc.Status`: the body of an OTLP/HTTP error answer. */
export function encodeRpcStatus(status: { code: number; message: string }): Uint8Array<ArrayBuffer> {
	return new Uint8Array(RpcStatus.encode(RpcStatus.fromObject(status)).finish());
}

export function decodeRpcStatus(bytes: Uint8Array): { code?: number; message?: string } {
	return RpcStatus.toObject(RpcStatus.decode(bytes), TO_OBJECT);
}
