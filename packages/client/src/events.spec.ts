import { expect, test } from 'vitest';
import { cutString, serialiseEvent, splitText } from './events.js';
import { MAX_EVENT_BYTES, OUTPUT_PIECE_UNITS } from './limits.js';

const base = { id: 'e1', type: 'output', ts: '2026-01-01T00:00:00.000Z' };

test('splitText keeps every character, in order, and never splits a surrogate pair', () => {
	const text = '😀'.repeat(50_000) + 'tail';
	const pieces = splitText(text);
	expect(pieces.join('')).toBe(text);
	for (const piece of pieces) {
		expect(piece.length).toBeLessThanOrEqual(OUTPUT_PIECE_UNITS);
		expect(piece).not.toMatch(/^[\udc00-\udfff]|[\ud800-\udbff]$/);
	}
	expect(splitText('short')).toEqual(['short']);
	expect(cutString('a😀', 2)).toBe('a');
});

test('an output piece full of control characters still fits in one event', () => {
	const [piece] = splitText('\u001b'.repeat(OUTPUT_PIECE_UNITS * 2));
	const json = serialiseEvent({ ...base, data: { text: piece! } });
	expect(Buffer.byteLength(json)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
	expect(JSON.parse(json).data.text).toBe(piece);
});

test('an event over the limit keeps its required fields, truncated with a note; small events are unchanged', () => {
	const small = { ...base, type: 'log', data: { level: 'info', message: 'hi' } };
	expect(serialiseEvent(small)).toBe(JSON.stringify(small));

	const big = { ...base, type: 'step-start', stepId: 's1', data: { name: 'fetch', kind: 'tool', input: { html: 'x'.repeat(1_000_000) } } };
	const parsed = JSON.parse(serialiseEvent(big));
	expect(parsed.data.name).toBe('fetch');
	expect(parsed.data.kind).toBe('tool');
	expect(parsed.data.input).toMatch(/truncated by @runwatch\/client: 10000\d\d bytes/);

	const many = { ...base, type: 'log', data: { level: 'warn', message: 'm'.repeat(300_000), ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, 'y'.repeat(16_000)])) } };
	const json = serialiseEvent(many);
	expect(Buffer.byteLength(json)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
	expect(JSON.parse(json).data).toMatchObject({ level: 'warn', message: expect.stringMatching(/^m+$/) });
});

test('values JSON cannot hold become notes instead of failing', () => {
	const cycle: Record<string, unknown> = {};
	cycle.self = cycle;
	const parsed = JSON.parse(serialiseEvent({ ...base, type: 'step-end', stepId: 's', data: { output: cycle, n: 10n } }));
	expect(parsed.data.output).toMatch(/not serialisable/);
	expect(parsed.data.n).toBe('10');
});

test('isoFromMs is toISOString (remembering the last millisecond)', async () => {
	const { isoFromMs } = await import('./events.js');
	for (const ms of [0, 1, 1, 1_767_225_600_123, 1_767_225_600_123, 1_767_225_600_124]) expect(isoFromMs(ms)).toBe(new Date(ms).toISOString());
});
