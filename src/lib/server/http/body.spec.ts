import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { RunwatchError } from '../errors.js';
import { MAX_JSON_DEPTH } from '../../protocol/limits.js';
import { Readable } from 'node:stream';
import { exceedsDepth, MAX_DISCARD_BYTES, OVERSIZE_LINGER_MS, readJsonBody, readJsonNode, type NodeBodySource } from './body.js';

async function failure(promise: Promise<unknown>): Promise<RunwatchError> {
	const error = await promise.then(
		() => {
			throw new Error('expected a failure');
		},
		(e: unknown) => e
	);
	expect(error).toBeInstanceOf(RunwatchError);
	return error as RunwatchError;
}

function post(body: BodyInit | null, headers: Record<string, string> = { 'content-type': 'application/json' }): Request {
	return new Request('http://localhost/api/x', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
}

/** A body that arrives in chunks with no Content-Length, counting what the reader pulled. */
function streamed(chunks: number, chunkSize: number): { stream: ReadableStream<Uint8Array>; pulled: () => number; cancelled: () => boolean } {
	let sent = 0;
	let cancelled = false;
	const stream = new ReadableStream<Uint8Array>({
		pull(controller) {
			if (sent >= chunks) return controller.close();
			sent++;
			controller.enqueue(new Uint8Array(chunkSize).fill(0x20));
		},
		cancel() {
			cancelled = true;
		}
	});
	return { stream, pulled: () => sent, cancelled: () => cancelled };
}

describe('readJsonBody', () => {
	test('parses a JSON body', async () => {
		expect(await readJsonBody(post('{"a":[1,2]}'))).toEqual({ a: [1, 2] });
	});

	test.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/vnd.runwatch+json'])(
		'accepts content type %s',
		async (type) => {
			expect(await readJsonBody(post('1', { 'content-type': type }))).toBe(1);
		}
	);

	test.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', ''])(
		'415 for content type %j',
		async (type) => {
			const headers: Record<string, string> = type ? { 'content-type': type } : {};
			const error = await failure(readJsonBody(post('{}', headers)));
			expect(error.code).toBe('unsupported_media_type');
			expect(error.status).toBe(415);
		}
	);

	test('a real form post is 415', async () => {
		const form = new FormData();
		form.set('type', 'output');
		const request = new Request('http://localhost/api/x', { method: 'POST', body: form });
		expect((await failure(readJsonBody(request))).status).toBe(415);
	});

	test('413 by Content-Length, reading the rest only to throw it away (nothing is kept)', async () => {
		const body = streamed(10, 20);
		const request = post(body.stream, { 'content-type': 'application/json', 'content-length': '200' });
		const error = await failure(readJsonBody(request, 100));
		expect(error.code).toBe('payload_too_large');
		expect(error.status).toBe(413);
		// Drained, so the connection can carry the answer and the next request.
		expect(body.pulled()).toBe(10);
		expect(body.cancelled()).toBe(false);
	});

	test('413 by Content-Length beyond MAX_DISCARD_BYTES: cut off without reading', async () => {
		const body = streamed(10, 20);
		const request = post(body.stream, { 'content-type': 'application/json', 'content-length': String(MAX_DISCARD_BYTES + 1) });
		expect((await failure(readJsonBody(request, 100))).status).toBe(413);
		expect(body.pulled()).toBeLessThanOrEqual(1);
		expect(body.cancelled()).toBe(true);
	});

	test('413 while streaming when there is no Content-Length; the rest is drained', async () => {
		const body = streamed(1000, 64);
		const error = await failure(readJsonBody(post(body.stream), 1000));
		expect(error.status).toBe(413);
		expect(body.pulled()).toBe(1000);
		expect(body.cancelled()).toBe(false);
	});

	test('a streamed body past MAX_DISCARD_BYTES is cut off', async () => {
		const chunk = 1024 * 1024;
		const body = streamed(Math.ceil(MAX_DISCARD_BYTES / chunk) + 10, chunk);
		expect((await failure(readJsonBody(post(body.stream), 1000))).status).toBe(413);
		expect(body.cancelled()).toBe(true);
		expect(body.pulled() * chunk).toBeLessThanOrEqual(MAX_DISCARD_BYTES + 2 * chunk);
	});

	test('a body that breaks off is 400, not 500', async () => {
		let n = 0;
		const stream = new ReadableStream<Uint8Array>({
			pull(controller) {
				if (n++ === 0) controller.enqueue(new TextEncoder().encode('{"type":'));
				else controller.error(new Error('aborted'));
			}
		});
		const error = await failure(readJsonBody(post(stream)));
		expect(error.code).toBe('invalid_body');
		expect(error.status).toBe(400);
	});

	test('a 413 raised by the adapter while reading stays a 413', async () => {
		const stream = new ReadableStream<Uint8Array>({
			pull(controller) {
				controller.error(Object.assign(new Error('request body size exceeded content-length'), { status: 413 }));
			}
		});
		expect((await failure(readJsonBody(post(stream)))).status).toBe(413);
	});

	test('413 while streaming when the Content-Length lies', async () => {
		const body = streamed(100, 64);
		const request = post(body.stream, { 'content-type': 'application/json', 'content-length': '10' });
		expect((await failure(readJsonBody(request, 1000))).status).toBe(413);
	});

	test('exactly the limit is fine', async () => {
		const text = JSON.stringify({ pad: 'x'.repeat(100) });
		expect(await readJsonBody(post(text), Buffer.byteLength(text))).toEqual({ pad: 'x'.repeat(100) });
		expect((await failure(readJsonBody(post(text), Buffer.byteLength(text) - 1))).status).toBe(413);
	});

	test('the limit counts bytes, not characters', async () => {
		const text = JSON.stringify('é'.repeat(60)); // 122 bytes, 62 characters
		expect((await failure(readJsonBody(post(text), 100))).status).toBe(413);
	});

	test.each(['{', '', 'undefined', "{'a':1}", '{"a":1}garbage'])('400 invalid_body for bad JSON %j', async (text) => {
		const error = await failure(readJsonBody(post(text)));
		expect(error.code).toBe('invalid_body');
		expect(error.status).toBe(400);
	});

	test('400 when there is no body at all', async () => {
		const request = new Request('http://localhost/api/x', { method: 'POST', headers: { 'content-type': 'application/json' } });
		const error = await failure(readJsonBody(request));
		expect(error.status).toBe(400);
	});

	test('multi-byte characters split across chunks decode correctly', async () => {
		const bytes = Buffer.from(JSON.stringify({ text: 'naïve ✓ 日本' }));
		const stream = new ReadableStream<Uint8Array>({
			start(controller) {
				for (const byte of bytes) controller.enqueue(new Uint8Array([byte]));
				controller.close();
			}
		});
		expect(await readJsonBody(post(stream))).toEqual({ text: 'naïve ✓ 日本' });
	});

	test(`400 for nesting deeper than MAX_JSON_DEPTH (${MAX_JSON_DEPTH}), however small the body`, async () => {
		const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
		expect(await readJsonBody(post(nest(MAX_JSON_DEPTH)))).toBeTruthy();
		const error = await failure(readJsonBody(post(nest(MAX_JSON_DEPTH + 1))));
		expect(error.code).toBe('invalid_body');
		expect(error.status).toBe(400);
		// 10,000 levels in 20 KB used to overflow the stack when the event was serialised: a 500.
		expect((await failure(readJsonBody(post(`{"type":"x","data":${nest(10_000)}}`)))).status).toBe(400);
	});
});

/** A Node byte stream with request headers, as the fast path hands `readJsonNode` a request. */
function nodeBody(chunks: Buffer[], headers: Record<string, string>): NodeBodySource & { pulled: () => number } {
	let pulled = 0;
	const stream = new Readable({
		read() {
			if (pulled >= chunks.length) return void this.push(null);
			this.push(chunks[pulled++]);
		}
	});
	return Object.assign(stream, { headers, pulled: () => pulled });
}

describe('readJsonNode (the Node fast path)', () => {
	const json = { 'content-type': 'application/json' };

	test('parses a body that arrives in several chunks', async () => {
		const body = nodeBody([Buffer.from('{"a":'), Buffer.from('[1,2]}')], json);
		expect(await readJsonNode(body)).toEqual({ a: [1, 2] });
	});

	test('415 for a body that is not JSON by its type, before reading it', async () => {
		const body = nodeBody([Buffer.from('{}')], { 'content-type': 'text/plain' });
		expect((await failure(readJsonNode(body))).status).toBe(415);
		expect(body.pulled()).toBe(0);
	});

	test('400 invalid_body for text that is not JSON, and for nesting past MAX_JSON_DEPTH', async () => {
		expect((await failure(readJsonNode(nodeBody([Buffer.from('{nope')], json)))).code).toBe('invalid_body');
		const deep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
		expect((await failure(readJsonNode(nodeBody([Buffer.from(deep)], json)))).code).toBe('invalid_body');
	});

	test('a declared Content-Length over the limit is 413; the body is read and dropped so the answer gets through', async () => {
		const body = nodeBody([Buffer.alloc(200, 0x20), Buffer.alloc(200, 0x20)], { ...json, 'content-length': '400' });
		const error = await failure(readJsonNode(body, 100));
		expect(error.status).toBe(413);
		expect(body.pulled()).toBe(2);
	});

	test('a streamed body (no Content-Length) is counted: 413 once past the limit, without keeping it', async () => {
		const chunks = Array.from({ length: 8 }, () => Buffer.alloc(64 * 1024, 0x20));
		const error = await failure(readJsonNode(nodeBody(chunks, json), 256 * 1024));
		expect(error.code).toBe('payload_too_large');
	});

	test('past MAX_DISCARD_BYTES: 413 at once, the rest read and dropped, the connection cut OVERSIZE_LINGER_MS later if it goes on', async () => {
		const declared = nodeBody([Buffer.from('{}')], { ...json, 'content-length': String(MAX_DISCARD_BYTES + 1) });
		expect((await failure(readJsonNode(declared))).status).toBe(413);
		const chunk = Buffer.alloc(1024 * 1024, 0x20);
		const counted = nodeBody(Array.from({ length: Math.ceil(MAX_DISCARD_BYTES / chunk.length) + 2 }, () => chunk), json);
		expect((await failure(readJsonNode(counted))).status).toBe(413);
		// A body that never ends: answered, and left open only long enough for the answer to be read.
		const endless = Object.assign(new Readable({ read() {} }), { headers: { ...json, 'content-length': String(MAX_DISCARD_BYTES * 10) } });
		expect((await failure(readJsonNode(endless))).status).toBe(413);
		expect(endless.destroyed).toBe(false);
		await new Promise((r) => setTimeout(r, OVERSIZE_LINGER_MS + 500));
		expect(endless.destroyed).toBe(true);
	});

	test('a body that breaks off is 400 invalid_body', async () => {
		const body = nodeBody([Buffer.from('{"a":')], json);
		const reading = readJsonNode(body);
		body.destroy(new Error('socket hang up'));
		const error = await failure(reading);
		expect(error.code).toBe('invalid_body');
		expect(error.message).toMatch(/could not be read/);
	});
});

describe('exceedsDepth', () => {
	/** The character-by-character scan it replaced, as the reference. */
	function reference(text: string, max: number): boolean {
		let depth = 0;
		let inString = false;
		for (let i = 0; i < text.length; i++) {
			const c = text.charCodeAt(i);
			if (inString) {
				if (c === 0x5c) i++;
				else if (c === 0x22) inString = false;
			} else if (c === 0x22) inString = true;
			else if (c === 0x5b || c === 0x7b) {
				if (++depth > max) return true;
			} else if (c === 0x5d || c === 0x7d) depth--;
		}
		return false;
	}

	test('answers as the character-by-character scan on any text of JSON punctuation and escapes', () => {
		const text = fc.array(fc.constantFrom('"', '\\', '[', ']', '{', '}', 'a', ',', ':'), { maxLength: 60 }).map((parts) => parts.join(''));
		fc.assert(
			fc.property(text, fc.integer({ min: 0, max: 6 }), (text, max) => {
				expect(exceedsDepth(text, max)).toBe(reference(text, max));
			}),
			{ numRuns: 2000 }
		);
	});

	test('counts only brackets outside strings, escapes included', () => {
		expect(exceedsDepth('{"a":[1,{"b":2}]}', 3)).toBe(false);
		expect(exceedsDepth('{"a":[1,{"b":2}]}', 2)).toBe(true);
		expect(exceedsDepth('"[[[[[[[["', 1)).toBe(false);
		// A string holding an escaped backslash, then one holding an escaped quote and brackets.
		const tricky = String.raw`["\\",[["\"[[["]]]`;
		expect(JSON.parse(tricky)).toEqual(['\\', [['"[[[']]]);
		expect(exceedsDepth(tricky, 3)).toBe(false);
		expect(exceedsDepth(tricky, 2)).toBe(true);
		expect(exceedsDepth('[][][][]', 1)).toBe(false);
		expect(exceedsDepth('1', 0)).toBe(false);
	});
});
