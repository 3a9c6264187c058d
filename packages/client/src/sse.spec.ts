import { describe, expect, test } from 'vitest';
import { SseParser, type SseMessage } from './sse.js';

const STREAM =
	'retry: 1000\r\n: connected\r\n\r\nid: 1\r\ndata: {"seq":1}\r\n\r\n: heartbeat\n\nid: 2\ndata: line one\ndata: line two\n\nevent: custom\ndata:no space\r\rid: 3\ndata: third\n\n';

const EXPECTED: SseMessage[] = [
	{ event: 'message', data: '{"seq":1}', lastEventId: '1' },
	{ event: 'message', data: 'line one\nline two', lastEventId: '2' },
	{ event: 'custom', data: 'no space', lastEventId: '2' },
	{ event: 'message', data: 'third', lastEventId: '3' }
];

function parseInChunks(text: string, sizes: (i: number) => number): SseMessage[] {
	const parser = new SseParser();
	const out: SseMessage[] = [];
	for (let i = 0; i < text.length; ) {
		const size = Math.max(1, sizes(i));
		out.push(...parser.push(text.slice(i, i + size)));
		i += size;
	}
	return out;
}

describe('SseParser', () => {
	test('parses a whole stream: CRLF, CR and LF line ends, comments, multi-line data, retry', () => {
		const parser = new SseParser();
		expect(parser.push(STREAM)).toEqual(EXPECTED);
		expect(parser.retryMs).toBe(1000);
		expect(parser.lastEventId).toBe('3');
	});

	test('gives the same messages whatever the chunking, also a CRLF split between chunks', () => {
		for (let size = 1; size <= 12; size++) expect(parseInChunks(STREAM, () => size)).toEqual(EXPECTED);
		// every split point of the stream into two chunks
		for (let cut = 0; cut <= STREAM.length; cut++) {
			const parser = new SseParser();
			expect([...parser.push(STREAM.slice(0, cut)), ...parser.push(STREAM.slice(cut))]).toEqual(EXPECTED);
		}
	});

	test('keeps an incomplete message until its blank line; a message without data is not dispatched', () => {
		const parser = new SseParser();
		expect(parser.push('id: 7\ndata: x')).toEqual([]);
		expect(parser.push('\n')).toEqual([]);
		expect(parser.push('\n')).toEqual([{ event: 'message', data: 'x', lastEventId: '7' }]);
		expect(parser.push('id: 8\n\n')).toEqual([]);
		expect(parser.lastEventId).toBe('8');
	});
});
