import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { MAX_BODY_BYTES, MAX_JSON_DEPTH } from '../../protocol/limits.js';
import { errorPayload, RunwatchError } from '../errors.js';
import { sendJson } from './node-response.js';

/**
 * How much of an oversize body is read and thrown away so the 413 reaches the client. Refusing
 * without reading leaves the rest in the connection (the next request on it hangs) and cutting
 * the connection makes the client see a reset instead of the answer. Past this we do cut it:
 * nobody may make the server read forever.
 */
export const MAX_DISCARD_BYTES = 4 * MAX_BODY_BYTES;

/**
 * How long a connection whose body is over MAX_DISCARD_BYTES stays open after the refusal, its
 * bytes read and dropped, before it is cut: long enough for the 413 to be written and read (a
 * socket closed with unread bytes is reset, and the reset can overtake the answer), short
 * enough that a client declaring a huge body holds nothing for long.
 */
export const OVERSIZE_LINGER_MS = 2_000;

/**
 * Reads a JSON request body within `limit` bytes. Checks Content-Type and Content-Length first
 * and then counts while streaming (a chunked body has no Content-Length to trust), so an
 * oversize body is refused without being held in memory.
 */
export async function readJsonBody(request: Request, limit = MAX_BODY_BYTES): Promise<unknown> {
	return readJsonStream(
		{
			contentType: request.headers.get('content-type'),
			contentLength: request.headers.get('content-length'),
			body: request.body
		},
		limit
	);
}

/** A request body however it arrived: a Fetch `Request`, or a Node request turned into a web stream. */
export interface BodySource {
	contentType: string | null | undefined;
	contentLength: string | null | undefined;
	body: ReadableStream<Uint8Array> | null;
}

export async function readJsonStream(source: BodySource, limit = MAX_BODY_BYTES): Promise<unknown> {
	assertJsonType(source.contentType);
	return parseJsonText((await readBodyBytes(source, limit)).toString('utf8'));
}

/** `unsupported_media_type` unless the Content-Type is JSON (`application/json`, `…+json`). */
function assertJsonType(contentType: string | null | undefined): void {
	const type = contentType ?? '';
	if (!/^application\/([\w.+-]+\+)?json\b/i.test(type.trim())) {
		throw new RunwatchError(
			'unsupported_media_type',
			`Send the body as JSON with "Content-Type: application/json"${type ? ` (got "${type}")` : ''}`
		);
	}
}

/** A Node request (or any byte stream with its headers), for the Node fast path. */
export type NodeBodySource = Readable & { headers: { 'content-type'?: string; 'content-length'?: string } };

/**
 * `readJsonStream` for a Node request, read from its own stream: the same checks, limits and
 * errors, without turning it into a web stream first (that wrapper cost more than the rest of
 * reading a small body).
 */
export async function readJsonNode(request: NodeBodySource, limit = MAX_BODY_BYTES): Promise<unknown> {
	assertJsonType(request.headers['content-type']);
	return parseJsonText((await readNodeBody(request, limit)).toString('utf8'));
}

/**
 * `readBodyBytes` for a Node stream: Content-Length first, then counting while reading; an
 * oversize body is read and dropped so that the 413 reaches the client (up to
 * MAX_DISCARD_BYTES before answering; past that, or when Content-Length says so, the answer goes
 * at once and the connection is cut OVERSIZE_LINGER_MS later). A body that breaks off is
 * `invalid_body`.
 */
export function readNodeBody(request: NodeBodySource, limit = MAX_BODY_BYTES): Promise<Buffer> {
	return new Promise<Buffer>((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		let over = false;
		let settled = false;
		const finish = (error: RunwatchError | undefined, body?: Buffer) => {
			if (settled) return;
			settled = true;
			request.off('data', onData);
			request.off('end', onEnd);
			request.off('error', onError);
			request.off('close', onClose);
			if (error) reject(error);
			else resolve(body!);
		};
		// Refused now (the caller answers 413), read and dropped for OVERSIZE_LINGER_MS at most.
		const cutOff = () => {
			finish(tooLarge(limit));
			dropThenCut(request);
		};
		const onData = (chunk: Buffer) => {
			size += chunk.byteLength;
			if (over || size > limit) {
				over = true;
				chunks.length = 0;
				if (size > MAX_DISCARD_BYTES) cutOff();
				return;
			}
			chunks.push(chunk);
		};
		const onEnd = () => {
			if (over) finish(tooLarge(limit));
			else finish(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
		};
		const onError = (error: Error) => {
			if (over) finish(tooLarge(limit));
			else finish(new RunwatchError('invalid_body', `The request body could not be read: ${error?.message ?? error}`));
		};
		// Closed before its end: the client went away mid-body.
		const onClose = () => onError(new Error('the connection closed before the body ended'));
		const declared = Number(request.headers['content-length'] ?? NaN);
		if (declared > limit) {
			over = true;
			if (declared > MAX_DISCARD_BYTES) return cutOff();
		}
		request.on('data', onData);
		request.on('end', onEnd);
		request.on('error', onError);
		request.on('close', onClose);
	});
}

/** Reads and drops the rest of a refused body, and cuts the connection if it has not ended within OVERSIZE_LINGER_MS. */
function dropThenCut(request: Readable): void {
	const timer = setTimeout(() => request.destroy(), OVERSIZE_LINGER_MS);
	timer.unref();
	request.once('close', () => clearTimeout(timer));
	request.once('end', () => clearTimeout(timer));
	request.resume();
}

/**
 * Answers 413 at the Node level, before any route, when a request's Content-Length is past
 * MAX_DISCARD_BYTES (more than any route takes), then drops the body as `readNodeBody` does.
 * A SvelteKit route could only cancel such a body, which resets the connection before the
 * client reads the answer.
 */
export function refuseHugeBody(request: IncomingMessage, response: ServerResponse): boolean {
	if (!(Number(request.headers['content-length'] ?? NaN) > MAX_DISCARD_BYTES)) return false;
	const { status, body, headers } = errorPayload(tooLarge(MAX_DISCARD_BYTES));
	dropThenCut(request);
	sendJson(response, status, body, headers);
	return true;
}

/**
 * Reads a whole body as bytes within `limit`, whatever its type: Content-Length is checked
 * first, then the bytes are counted while streaming (a chunked body has no Content-Length to
 * trust), so an oversize body is refused (413) without being held in memory.
 */
export async function readBodyBytes(source: Omit<BodySource, 'contentType'>, limit = MAX_BODY_BYTES): Promise<Buffer> {
	if (!source.body) throw new RunwatchError('invalid_body', 'The request has no body');
	const reader = source.body.getReader();
	const declared = Number(source.contentLength ?? NaN);
	if (declared > limit) {
		await discard(reader, 0, declared > MAX_DISCARD_BYTES);
		throw tooLarge(limit);
	}

	const chunks: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		const { done, value } = await read(reader);
		if (done) break;
		size += value.byteLength;
		if (size > limit) {
			await discard(reader, size, false);
			throw tooLarge(limit);
		}
		chunks.push(value);
	}
	return Buffer.concat(chunks);
}

/** Parses JSON text from a body: `invalid_body` when it is not JSON or nests too deep. */
export function parseJsonText(text: string): unknown {
	if (exceedsDepth(text, MAX_JSON_DEPTH)) {
		throw new RunwatchError('invalid_body', `Body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`);
	}
	try {
		return JSON.parse(text);
	} catch (error) {
		throw new RunwatchError('invalid_body', `Body is not valid JSON: ${(error as Error).message}`);
	}
}

type Reader = ReadableStreamDefaultReader<Uint8Array>;

/** A body that breaks off (client gone, bad framing) is the client's problem: 400, not 500. */
async function read(reader: Reader): Promise<ReadableStreamReadResult<Uint8Array>> {
	try {
		return await reader.read();
	} catch (error) {
		const status = (error as { status?: unknown })?.status;
		if (status === 413) throw new RunwatchError('payload_too_large', (error as Error).message);
		throw new RunwatchError('invalid_body', `The request body could not be read: ${(error as Error)?.message ?? error}`);
	}
}

/** Reads and drops the rest of a body (up to MAX_DISCARD_BYTES in all), or cuts it off at once. */
async function discard(reader: Reader, alreadyRead: number, cutOff: boolean): Promise<void> {
	let size = alreadyRead;
	try {
		while (!cutOff) {
			const { done, value } = await reader.read();
			if (done) return;
			size += value.byteLength;
			cutOff = size > MAX_DISCARD_BYTES;
		}
		await reader.cancel();
	} catch {
		// The body broke off while we were throwing it away: the refusal stands.
	}
}

/**
 * True when the JSON text opens more than `max` arrays/objects at once. Linear, no recursion.
 * Strings are skipped with `indexOf` (most of a body's characters are in strings): a quote ends
 * one unless an odd run of backslashes comes before it.
 */
export function exceedsDepth(text: string, max: number): boolean {
	let depth = 0;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (c === 0x22) {
			let end = i;
			for (;;) {
				end = text.indexOf('"', end + 1);
				if (end < 0) return false; // unterminated: nothing after it counts
				let backslashes = 0;
				while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++;
				if (backslashes % 2 === 0) break;
			}
			i = end;
		} else if (c === 0x5b || c === 0x7b) {
			if (++depth > max) return true;
		} else if (c === 0x5d || c === 0x7d) depth--;
	}
	return false;
}

export function tooLarge(limit: number): RunwatchError {
	return new RunwatchError(
		'payload_too_large',
		`Body is larger than ${limit} bytes; send fewer events (or spans) per request`
	);
}
