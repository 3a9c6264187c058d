import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { MAX_OTLP_BODY_BYTES } from '../../protocol/limits.js';
import { describeZodError, invalid, RunwatchError } from '../errors.js';
import { parseJsonText, readBodyBytes, type BodySource } from '../http/body.js';
import { readSpan } from './fast-span.js';
import { decodeTraceRequest } from './proto.js';
import { spanSchema, traceRequestSchema, type JsonValue, type OtlpSpan } from './schema.js';

const gunzipAsync = promisify(gunzip);

/** The two OTLP/HTTP encodings. An answer uses the encoding of its request. */
export type OtlpEncoding = 'json' | 'protobuf';

/** The encoding a Content-Type names, or undefined for anything else (415). */
export function encodingOf(contentType: string | null | undefined): OtlpEncoding | undefined {
	const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
	if (type === 'application/json') return 'json';
	if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
	return undefined;
}

/** A span that passed its checks, with the attributes of the resource that sent it. */
export interface ReceivedSpan extends OtlpSpan {
	resource: Record<string, JsonValue>;
}

export interface TraceRequest {
	spans: ReceivedSpan[];
	/** Spans refused (bad ids, missing times, ...), counted for `partialSuccess`. */
	rejected: number;
	/** Why, for the first few of them. */
	rejections: string[];
}

/** How many refusals are spelled out in `partialSuccess.errorMessage`. */
const MAX_REJECTIONS_LISTED = 5;

/**
 * Reads an OTLP/HTTP trace export: the body within MAX_OTLP_BODY_BYTES, gzip undone within the
 * same limit (a gzip bomb is refused once it inflates past it, 413), decoded by `encoding`, then
 * checked: a body that is not an `ExportTraceServiceRequest` throws `invalid_body` (400); a bad
 * span is left out and counted.
 */
export async function readTraceRequest(
	source: Omit<BodySource, 'contentType'> & { contentEncoding: string | null | undefined },
	encoding: OtlpEncoding
): Promise<TraceRequest> {
	const contentEncoding = contentEncodingOf(source.contentEncoding);
	return readTraceBytes(await readBodyBytes(source, MAX_OTLP_BODY_BYTES), contentEncoding, encoding);
}

/** A request's Content-Encoding, `gzip` or `identity` (none); anything else is refused (415) before the body is read. */
export function contentEncodingOf(header: string | null | undefined): 'gzip' | 'identity' {
	const contentEncoding = (header ?? 'identity').trim().toLowerCase();
	if (contentEncoding !== 'gzip' && contentEncoding !== 'identity') {
		throw new RunwatchError('unsupported_media_type', `Content-Encoding "${contentEncoding}" is not supported; send gzip or nothing`);
	}
	return contentEncoding;
}

/** `readTraceRequest` once the body is read (within MAX_OTLP_BODY_BYTES): gzip undone, decoded, checked. */
export async function readTraceBytes(bytes: Buffer, contentEncoding: 'gzip' | 'identity', encoding: OtlpEncoding): Promise<TraceRequest> {
	if (contentEncoding === 'gzip') bytes = await inflate(bytes);
	return checkTraceRequest(decodeBody(bytes, encoding));
}

/** Undoes gzip, stopping (413) as soon as the output passes MAX_OTLP_BODY_BYTES. Off the main thread. */
export async function inflate(bytes: Buffer, limit = MAX_OTLP_BODY_BYTES): Promise<Buffer> {
	try {
		return await gunzipAsync(bytes, { maxOutputLength: limit });
	} catch (error) {
		if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
			throw new RunwatchError('payload_too_large', `Body is larger than ${limit} bytes once gzip is undone; send fewer spans per request`);
		}
		throw new RunwatchError('invalid_body', `Body is not valid gzip: ${(error as Error).message}`);
	}
}

export function decodeBody(bytes: Buffer, encoding: OtlpEncoding): unknown {
	if (encoding === 'json') return parseJsonText(bytes.toString('utf8'));
	try {
		return decodeTraceRequest(bytes);
	} catch (error) {
		throw new RunwatchError('invalid_body', `Body is not an ExportTraceServiceRequest in protobuf: ${(error as Error).message}`);
	}
}

/** Checks a decoded request (either encoding) and its spans, one by one. */
export function checkTraceRequest(body: unknown): TraceRequest {
	const outline = traceRequestSchema.safeParse(body);
	if (!outline.success) throw invalid('invalid_body', outline.error, 'Not an ExportTraceServiceRequest: ');
	const request: TraceRequest = { spans: [], rejected: 0, rejections: [] };
	outline.data.resourceSpans?.forEach((resourceSpans, i) => {
		const resource = resourceSpans.resource?.attributes ?? {};
		resourceSpans.scopeSpans?.forEach((scopeSpans, j) => {
			scopeSpans.spans?.forEach((raw, k) => {
				// The hand-checked common case first; zod decides (and words refusals) for the rest.
				const fast = readSpan(raw) as ReceivedSpan | undefined;
				if (fast) {
					// A fresh object: the resource is added to it rather than copying it.
					fast.resource = resource;
					return request.spans.push(fast);
				}
				const span = spanSchema.safeParse(raw);
				if (span.success) return request.spans.push({ ...span.data, resource });
				request.rejected++;
				if (request.rejections.length < MAX_REJECTIONS_LISTED) {
					request.rejections.push(`resourceSpans.${i}.scopeSpans.${j}.spans.${k}: ${describeZodError(span.error, 2)}`);
				}
			});
		});
	});
	return request;
}
