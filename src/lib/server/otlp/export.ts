import { errorPayload, RunwatchError } from '../errors.js';
import { credentialsOf } from '../access/credentials.js';
import type { Ingest } from '../ingest/ingest.js';
import { encodingOf, readTraceRequest, type OtlpEncoding } from './decode.js';
import { mapSpans } from './mapping.js';
import { encodeRpcStatus, encodeTraceResponse, type PartialSuccess } from './proto.js';

const CONTENT_TYPES: Record<OtlpEncoding, string> = { json: 'application/json', protobuf: 'application/x-protobuf' };

/**
 * gRPC status codes for the `google.rpc.Status` body of an error answer, by HTTP status. OTLP
 * exporters act on the HTTP status (429, 502, 503, 504 are retried, honouring Retry-After;
 * anything else drops the data); the body is for people reading the exporter's log.
 */
const RPC_CODES: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3, 429: 8, 503: 14 };
const RPC_INTERNAL = 13;

/**
 * `POST /v1/traces`: an OTLP/HTTP trace export, in JSON or protobuf, maybe gzipped. Token first
 * (nobody unauthorised is read), then the body; each trace goes to its execution through the
 * one ingest module. The answer follows OTLP/HTTP, in the request's encoding: 200 with an
 * `ExportTraceServiceResponse` (with `partialSuccess` when spans were refused), else a
 * `google.rpc.Status` with 400, 401, 413, 415 or 503 (+ Retry-After).
 */
export async function exportTraces(
	ingest: Pick<Ingest, 'authorize' | 'createAndAppendMany'>,
	request: Request
): Promise<Response> {
	const encoding = encodingOf(request.headers.get('content-type'));
	try {
		ingest.authorize(credentialsOf(request));
		if (!encoding) {
			throw new RunwatchError(
				'unsupported_media_type',
				`Send OTLP/HTTP as "application/x-protobuf" or "application/json"${request.headers.get('content-type') ? ` (got "${request.headers.get('content-type')}")` : ''}`
			);
		}
		const received = await readTraceRequest(
			{
				contentLength: request.headers.get('content-length'),
				contentEncoding: request.headers.get('content-encoding'),
				body: request.body
			},
			encoding
		);
		let rejected = received.rejected;
		const rejections = [...received.rejections];
		// Every trace of the request in one store transaction. A trace refused for what it holds
		// (an event too big) costs its own spans, not the others'; an error of the store or of the
		// server's state (shutting down: 503) fails the request, and the exporter's retry stores
		// only what is missing (event ids come from span ids).
		const traces = mapSpans(received.spans);
		const outcomes = await ingest.createAndAppendMany(
			traces.map((trace) => ({
				execution: trace.execution,
				events: trace.events,
				dataJson: trace.dataJson,
				label: (index: number) => `trace ${trace.execution.id}, event ${trace.events[index]?.id}`
			}))
		);
		outcomes.forEach(({ error }, i) => {
			if (!error) return;
			rejected += traces[i]!.spans;
			rejections.push(`trace ${traces[i]!.execution.id}: ${error.message}`);
		});
		const partialSuccess = rejected > 0 ? { rejectedSpans: rejected, errorMessage: describeRejections(rejected, rejections) } : undefined;
		return answer(encoding, 200, partialSuccess);
	} catch (error) {
		return failure(encoding ?? 'json', error);
	}
}

function describeRejections(rejected: number, rejections: string[]): string {
	const listed = rejections.join('; ');
	return `${rejected} span${rejected === 1 ? '' : 's'} refused: ${listed}${rejections.length < rejected ? '; …' : ''}`;
}

function answer(encoding: OtlpEncoding, status: number, partialSuccess: PartialSuccess | undefined): Response {
	const body = encoding === 'json' ? JSON.stringify(partialSuccess ? { partialSuccess } : {}) : encodeTraceResponse(partialSuccess);
	return new Response(body, { status, headers: { 'content-type': CONTENT_TYPES[encoding] } });
}

function failure(encoding: OtlpEncoding, error: unknown): Response {
	const { status, body, headers } = errorPayload(error);
	const rpcStatus = { code: RPC_CODES[status] ?? RPC_INTERNAL, message: body.error.message };
	const payload = encoding === 'json' ? JSON.stringify(rpcStatus) : encodeRpcStatus(rpcStatus);
	return new Response(payload, { status, headers: { ...headers, 'content-type': CONTENT_TYPES[encoding] } });
}
