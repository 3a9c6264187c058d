import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StoredEvent } from '../../protocol/events.js';
import { MAX_BUFFERED_BYTES, SSE_HEARTBEAT_MS, SSE_RETRY_MS } from '../../protocol/limits.js';
import { EventBatch } from '../hub/batch.js';
import { SSE_HEADERS, SseStream } from './sse-stream.js';

const decoder = new TextDecoder();

function event(seq: number, text = `line ${seq}`): StoredEvent {
	return { seq, id: `e${seq}`, type: 'output', ts: '2025-01-01T00:00:00.000Z', data: { text } };
}

/** Reads whatever is queued right now (without waiting for more). */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, chunks: number): Promise<string> {
	let text = '';
	for (let i = 0; i < chunks; i++) {
		const { value, done } = await reader.read();
		if (done) break;
		text += decoder.decode(value);
	}
	return text;
}

async function readAll(body: ReadableStream<Uint8Array>): Promise<string> {
	let text = '';
	for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk);
	return text;
}

const streams: SseStream[] = [];
function open(options: ConstructorParameters<typeof SseStream>[0]): SseStream {
	const stream = new SseStream(options);
	streams.push(stream);
	return stream;
}
afterEach(() => {
	for (const stream of streams.splice(0)) stream.close();
	vi.useRealTimers();
});

describe('SseStream', () => {
	it('starts with the retry hint and a comment, at once', async () => {
		const stream = open({ format: 'events' });
		const reader = stream.body.getReader();
		expect(await drain(reader, 1)).toBe(`retry: ${SSE_RETRY_MS}\n: connected\n\n`);
	});

	it('events format: one SSE message per event, id: its seq, data: the event JSON', async () => {
		const stream = open({ format: 'events' });
		const reader = stream.body.getReader();
		await drain(reader, 1);
		stream.deliver(EventBatch.fromEvents('run-1', [event(4), event(5)]));
		stream.deliver(EventBatch.fromJsonRows('run-1', [{ seq: 6, json: JSON.stringify(event(6)) }]));
		const text = await drain(reader, 2);
		expect(text).toBe(
			`id: 4\ndata: ${JSON.stringify(event(4))}\n\n` +
				`id: 5\ndata: ${JSON.stringify(event(5))}\n\n` +
				`id: 6\ndata: ${JSON.stringify(event(6))}\n\n`
		);
	});

	it('events format keeps a multi-line text on one data: line (JSON escapes newlines)', async () => {
		const stream = open({ format: 'events' });
		const reader = stream.body.getReader();
		await drain(reader, 1);
		stream.deliver(EventBatch.fromEvents('run-1', [event(1, 'a\nb\r\nc')]));
		const text = await drain(reader, 1);
		expect(text.split('\n').filter(Boolean)).toHaveLength(2);
		expect(JSON.parse(text.split('\n')[1]!.slice('data: '.length))).toEqual(event(1, 'a\nb\r\nc'));
	});

	it('messages format: the whole events message in one SSE message, no id; sendMessage likewise', async () => {
		const stream = open({ format: 'messages' });
		const reader = stream.body.getReader();
		await drain(reader, 1);
		stream.sendMessage({ type: 'subscribed', executionId: 'run-1', lastSeq: 3 });
		stream.deliver(EventBatch.fromEvents('run-1', [event(4), event(5)]));
		const text = await drain(reader, 2);
		const messages = text.split('\n\n').filter(Boolean);
		expect(messages).toHaveLength(2);
		for (const message of messages) expect(message.startsWith('data: ')).toBe(true);
		expect(text).not.toContain('id:');
		expect(JSON.parse(messages[0]!.slice(6))).toEqual({ type: 'subscribed', executionId: 'run-1', lastSeq: 3 });
		expect(JSON.parse(messages[1]!.slice(6))).toEqual({ type: 'events', executionId: 'run-1', events: [event(4), event(5)] });
	});

	it('bufferedAmount counts what nobody has read yet, and falls as the reader reads', async () => {
		const stream = open({ format: 'events' });
		const initial = stream.bufferedAmount;
		expect(initial).toBeGreaterThan(0); // the retry line, unread
		const batch = EventBatch.fromEvents('run-1', [event(1, 'x'.repeat(10_000))]);
		for (let i = 0; i < 10; i++) stream.deliver(batch);
		expect(stream.bufferedAmount).toBe(initial + 10 * batch.sseEventsFrame.byteLength);
		const reader = stream.body.getReader();
		await drain(reader, 11);
		expect(stream.bufferedAmount).toBe(0);
	});

	it('bufferedAmount can pass the hub limit (the hub then stops live pushes); nothing is dropped', async () => {
		const stream = open({ format: 'events' });
		const batch = EventBatch.fromEvents('run-1', [event(1, 'y'.repeat(64 * 1024))]);
		const count = Math.ceil(MAX_BUFFERED_BYTES / batch.sseEventsFrame.byteLength) + 2;
		for (let i = 0; i < count; i++) stream.deliver(batch);
		expect(stream.bufferedAmount).toBeGreaterThan(MAX_BUFFERED_BYTES);
		expect(stream.closed).toBe(false);
		stream.close();
		const text = await readAll(stream.body);
		expect(text.split('id: 1\n').length - 1).toBe(count);
	});

	it('sends a heartbeat comment every heartbeatMs (default SSE_HEARTBEAT_MS)', async () => {
		vi.useFakeTimers();
		const stream = open({ format: 'events' });
		const reader = stream.body.getReader();
		await drain(reader, 1);
		const before = stream.bufferedAmount;
		vi.advanceTimersByTime(SSE_HEARTBEAT_MS - 1);
		expect(stream.bufferedAmount).toBe(before);
		vi.advanceTimersByTime(1);
		expect(await drain(reader, 1)).toBe(': heartbeat\n\n');
		vi.advanceTimersByTime(SSE_HEARTBEAT_MS);
		expect(await drain(reader, 1)).toBe(': heartbeat\n\n');
		expect(SSE_HEARTBEAT_MS).toBeLessThanOrEqual(15_000); // the issue: at least every 15 s
	});

	it('heartbeatMs is an option; heartbeats stop once closed', async () => {
		vi.useFakeTimers();
		const stream = open({ format: 'messages', heartbeatMs: 100 });
		const reader = stream.body.getReader();
		await drain(reader, 1);
		vi.advanceTimersByTime(300);
		expect(await drain(reader, 3)).toBe(': heartbeat\n\n'.repeat(3));
		stream.close();
		vi.advanceTimersByTime(1000);
		expect(await reader.read()).toEqual({ done: true, value: undefined });
	});

	it('close() ends the body after what was queued, calls onClose once, and ignores later writes', async () => {
		const onClose = vi.fn();
		const stream = open({ format: 'events', onClose });
		stream.deliver(EventBatch.fromEvents('run-1', [event(1)]));
		stream.close();
		stream.close();
		stream.deliver(EventBatch.fromEvents('run-1', [event(2)]));
		stream.sendMessage({ type: 'pong' });
		expect(onClose).toHaveBeenCalledTimes(1);
		expect(stream.closed).toBe(true);
		expect(stream.bufferedAmount).toBe(0);
		const text = await readAll(stream.body);
		expect(text).toContain('id: 1\n');
		expect(text).not.toContain('id: 2');
		expect(text).not.toContain('pong');
		expect(onClose).toHaveBeenCalledTimes(1);
	});

	it('a reader that cancels (the client went away) closes the stream and calls onClose once', async () => {
		const onClose = vi.fn();
		const stream = open({ format: 'messages', onClose });
		const reader = stream.body.getReader();
		await reader.cancel();
		expect(onClose).toHaveBeenCalledTimes(1);
		expect(stream.closed).toBe(true);
		stream.sendMessage({ type: 'pong' }); // no throw
		stream.close();
		expect(onClose).toHaveBeenCalledTimes(1);
	});

	it('headers keep proxies from buffering or compressing', () => {
		const headers = new Headers(SSE_HEADERS);
		expect(headers.get('content-type')).toMatch(/^text\/event-stream/);
		expect(headers.get('cache-control')).toBe('no-cache, no-transform');
		expect(headers.get('x-accel-buffering')).toBe('no');
		expect(headers.get('content-encoding') ?? 'identity').toBe('identity');
	});
});

describe('SseStream on a Node response (the production server)', () => {
	let server: Server | undefined;
	afterEach(async () => {
		server?.closeAllConnections();
		await new Promise((resolve) => server?.close(resolve));
		server = undefined;
	});

	/** A real server on 127.0.0.1 whose one request becomes a stream; the client's response. */
	async function connect(options: Omit<ConstructorParameters<typeof SseStream>[0], 'response'>) {
		let opened!: (stream: SseStream) => void;
		const streamReady = new Promise<SseStream>((resolve) => (opened = resolve));
		server = createServer((_request, response: ServerResponse) => opened(open({ ...options, response })));
		await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
		const { port } = server.address() as AddressInfo;
		const client = await new Promise<IncomingMessage>((resolve, reject) => get(`http://127.0.0.1:${port}/`, resolve).on('error', reject));
		client.setEncoding('utf8');
		let text = '';
		client.on('data', (chunk: string) => (text += chunk));
		const ended = new Promise<void>((resolve) => client.on('close', resolve));
		return { stream: await streamReady, client, text: () => text, ended };
	}

	async function until(check: () => boolean): Promise<void> {
		for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
		expect(check()).toBe(true);
	}

	it('sends the SSE headers and the retry hint at once, then frames as they are delivered', async () => {
		const { stream, client, text } = await connect({ format: 'events' });
		expect(client.statusCode).toBe(200);
		for (const [name, value] of Object.entries(SSE_HEADERS)) expect(client.headers[name]).toBe(value);
		stream.deliver(EventBatch.fromEvents('run-1', [event(1), event(2)]));
		stream.sendMessage({ type: 'pong' });
		const expected = `retry: ${SSE_RETRY_MS}\n: connected\n\n` + `id: 1\ndata: ${JSON.stringify(event(1))}\n\n` + `id: 2\ndata: ${JSON.stringify(event(2))}\n\n` + 'data: {"type":"pong"}\n\n';
		await until(() => text() === expected);
		expect(() => stream.body).toThrow(/Node response/);
	});

	it('bufferedAmount is what the response and its socket still hold: it grows while the client does not read', async () => {
		const { stream, client } = await connect({ format: 'events' });
		client.pause();
		const batch = EventBatch.fromEvents('run-1', [event(1, 'z'.repeat(64 * 1024))]);
		for (let i = 0; i < 64; i++) stream.deliver(batch);
		expect(stream.bufferedAmount).toBeGreaterThan(0);
		client.resume();
		await until(() => stream.bufferedAmount === 0);
	});

	it('close(farewell) sends it, ends the response and calls onClose once', async () => {
		const onClose = vi.fn();
		const { stream, text, ended } = await connect({ format: 'events', onClose });
		stream.close({ type: 'error', code: 'shutting_down' });
		stream.close();
		await ended;
		expect(text()).toContain('event: error\ndata: {"type":"error","code":"shutting_down"}\n\n');
		expect(onClose).toHaveBeenCalledTimes(1);
		expect(stream.closed).toBe(true);
		stream.sendMessage({ type: 'pong' }); // no throw, nothing sent
	});

	it('a client that goes away closes the stream and calls onClose once', async () => {
		const onClose = vi.fn();
		const { stream, client } = await connect({ format: 'messages', onClose });
		client.destroy();
		await until(() => stream.closed);
		expect(onClose).toHaveBeenCalledTimes(1);
		stream.deliver(EventBatch.fromEvents('run-1', [event(1)])); // no throw
		expect(stream.bufferedAmount).toBe(0);
	});
});
