import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_OTLP_BODY_BYTES } from '../../protocol/limits.js';
import { credentialsOf, credentialsOfNode, type RequestCredentials } from '../access/credentials.js';
import { errorPayload, RunwatchError } from '../errors.js';
import { readNodeBody } from '../http/body.js';
import { pathOf, sendBody } from '../http/node-response.js';
import type { Ingest } from '../ingest/ingest.js';
import { contentEncodingOf, encodingOf, readTraceBytes, readTraceRequest, type OtlpEncoding, type TraceRequest } from './decode.js';
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

/** An OTLP/HTTP export however it arrived (a Fetch `Request` or a Node request). */
export interface TraceExport {
	contentType: string | null | undefined;
	credentials: RequestCredentials;
	/** Reads, decodes and checks the body (called only once the token and the type are accepted). */
	read(encoding: OtlpEncoding): Promise<TraceRequest>;
}

/** The answer, for either way out. */
export interface TraceExportAnswer {
	status: number;
	headers: Record<string, string>;
	body: string | Uint8Array<ArrayBuffer>;
}

/**
 * `POST /v1/traces`: an OTLP/HTTP trace export, in JSON or protobuf, maybe gzipped. Token first
 * (nobody unauthorised is read), then the body; each trace goes to its execution through the
 * one ingest module. The answer follows OTLP/HTTP, in the request's encoding: 200 with an
 * `ExportTraceServiceResponse` (with `partialSuccess` when spans were refused), else a
 * `google.rpc.Status` with 400, 401, 413, 415 or 503 (+ Retry-After).
 */
export async function answerTraceExport(ingest: Pick<Ingest, 'authorize' | 'createAndAppendMany'>, request: TraceExport): Promise<TraceExportAnswer> {
	const encoding = encodingOf(request.contentType);
	try {
		ingest.authorize(request.credentials);
		if (!encoding) {
			throw new RunwatchError(
				'unsupported_media_type',
				`Send OTLP/HTTP as "application/x-protobuf" or "application/json"${request.contentType ? ` (got "${request.contentType}")` : ''}`
			);
		}
		const received = await request.read(encoding);
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

/** The SvelteKit route's way in (`vite dev`, and production with `RUNWATCH_INGEST_FAST_PATH=off`). */
export async function exportTraces(ingest: Pick<Ingest, 'authorize' | 'createAndAppendMany'>, request: Request): Promise<Response> {
	const { status, headers, body } = await answerTraceExport(ingest, {
		contentType: request.headers.get('content-type'),
		credentials: credentialsOf(request),
		read: (encoding) =>
			readTraceRequest(
				{ contentLength: request.headers.get('content-length'), contentEncoding: request.headers.get('content-encoding'), body: request.body },
				encoding
			)
	});
	return new Response(body, { status, headers });
}

/**
 * `POST /v1/traces` straight from Node's HTTP server, before SvelteKit, as `fast-ingest.ts` takes
 * the events endpoint: the same `answerTraceExport`, with the body read from the Node stream
 * (SvelteKit's web-stream wrapper and per-request work cost about a twentieth of an export).
 * Returns false, touching nothing, for any other request.
 */
export function tryFastTraces(ingest: Pick<Ingest, 'authorize' | 'createAndAppendMany'>, request: IncomingMessage, response: ServerResponse): boolean {
	if (request.method !== 'POST') return false;
	if (pathOf(request) !== '/v1/traces') return false;
	void (async () => {
		const { status, headers, body } = await answerTraceExport(ingest, {
			contentType: request.headers['content-type'],
			credentials: credentialsOfNode(request),
			read: async (encoding) => {
				const contentEncoding = contentEncodingOf(request.headers['content-encoding']);
				return readTraceBytes(await readNodeBody(request, MAX_OTLP_BODY_BYTES), contentEncoding, encoding);
			}
		});
		sendBody(response, status, body, headers);
	})();
	return true;
}

function describeRejections(rejected: number, rejections: string[]): string {
	const listed = rejections.join('; ');
	return `${rejected} span${rejected === 1 ? '' : 's'} refused: ${listed}${rejections.length < rejected ? '; …' : ''}`;
}

function answer(encoding: OtlpEncoding, status: number, partialSuccess: PartialSuccess | undefined): TraceExportAnswer {
	const body = encoding === 'json' ? JSON.stringify(partialSuccess ? { partialSuccess } : {}) : encodeTraceResponse(partialSuccess);
	return { status, headers: { 'content-type': CONTENT_TYPES[encoding] }, body };
}

function failure(encoding: OtlpEncoding, error: unknown): TraceExportAnswer {
	const { status, body, headers } = errorPayload(error);
	const rpcStatus = { code: RPC_CODES[status] ?? RPC_INTERNAL, message: body.error.message };
	const payload = encoding === 'json' ? JSON.stringify(rpcStatus) : encodeRpcStatus(rpcStatus);
	return { status, headers: { ...headers, 'content-type': CONTENT_TYPES[encoding] }, body: payload };
}
