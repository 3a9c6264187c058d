import protobuf from 'protobufjs';

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
 */
export function decodeTraceRequest(bytes: Uint8Array): unknown {
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
