import { describe, expect, test } from 'vitest';
import {
	CORE_EVENT_TYPES,
	eventInputSchema,
	eventTypeSchema,
	idSchema,
	isCoreEventType,
	storedEventSchema
} from './events.js';
import { MAX_EVENT_COST_USD, MAX_ID_LENGTH } from './limits.js';

function issues(input: unknown): { path: string; message: string }[] {
	const result = eventInputSchema.safeParse(input);
	if (result.success) return [];
	return result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

describe('idSchema', () => {
	test.each(['a', 'A-b_9', 'x'.repeat(MAX_ID_LENGTH), '0198c6f1-7d2e-7000-8000-000000000000'])('accepts %j', (id) => {
		expect(idSchema.parse(id)).toBe(id);
	});

	test.each(['', 'x'.repeat(MAX_ID_LENGTH + 1), 'a b', 'a/b', 'é', 'a.b', '../x', 'a\nb'])('rejects %j', (id) => {
		expect(idSchema.safeParse(id).success).toBe(false);
	});

	test('rejects non-strings', () => {
		expect(idSchema.safeParse(12).success).toBe(false);
		expect(idSchema.safeParse(null).success).toBe(false);
	});
});

describe('eventTypeSchema', () => {
	test('accepts core and namespaced custom types', () => {
		for (const type of [...CORE_EVENT_TYPES, 'my.custom', 'vendor:thing/v2', 'a_b-c']) {
			expect(eventTypeSchema.parse(type)).toBe(type);
		}
	});

	test('rejects empty and odd characters', () => {
		for (const type of ['', 'has space', 'emoji🙂', 'x'.repeat(201)]) {
			expect(eventTypeSchema.safeParse(type).success).toBe(false);
		}
	});
});

describe('eventInputSchema', () => {
	test('a minimal event needs only a type (id and ts are the server’s to fill in)', () => {
		expect(eventInputSchema.parse({ type: 'agent-start' })).toEqual({ type: 'agent-start' });
	});

	test('unknown types are kept with their data unchanged', () => {
		const data = { anything: [1, { nested: true }], n: null };
		const parsed = eventInputSchema.parse({ id: 'e1', type: 'retrieval.hit', data });
		expect(parsed).toEqual({ id: 'e1', type: 'retrieval.hit', data });
		// Unknown types may carry any JSON as data, including non-objects.
		expect(eventInputSchema.parse({ type: 'x', data: 'just a string' }).data).toBe('just a string');
		expect(eventInputSchema.parse({ type: 'x', data: [1, 2] }).data).toEqual([1, 2]);
	});

	test('core data keeps extra fields agents attach', () => {
		const parsed = eventInputSchema.parse({ type: 'output', data: { text: 'hi', stream: 'stdout', extra: 1 } });
		expect(parsed.data).toEqual({ text: 'hi', stream: 'stdout', extra: 1 });
	});

	test.each([
		['agent-start', undefined],
		['agent-start', { input: { q: 1 } }],
		['output', { text: '' }],
		['log', { level: 'warn', message: 'careful' }],
		['usage', { inputTokens: 10, outputTokens: 3, costUsd: 0.01 }],
		['usage', {}],
		['usage', { costUsd: MAX_EVENT_COST_USD }],
		['agent-complete', undefined],
		['agent-complete', { output: 'done' }],
		['error', { message: 'boom', stack: 'at x' }],
		['cancelled', undefined],
		['cancelled', { reason: 'user' }]
	])('valid %s data: %j', (type, data) => {
		expect(issues({ type, data })).toEqual([]);
	});

	test.each([
		['output', undefined, 'data'],
		['output', { text: 5 }, 'data.text'],
		['log', { level: 'loud', message: 'x' }, 'data.level'],
		['log', { level: 'info' }, 'data.message'],
		['usage', { inputTokens: -1 }, 'data.inputTokens'],
		['usage', { outputTokens: 1.5 }, 'data.outputTokens'],
		['usage', { costUsd: -0.1 }, 'data.costUsd'],
		['usage', { costUsd: MAX_EVENT_COST_USD + 0.01 }, 'data.costUsd'],
		['usage', { costUsd: Number.MAX_VALUE }, 'data.costUsd'],
		['error', {}, 'data.message'],
		['error', undefined, 'data'],
		['cancelled', { reason: 3 }, 'data.reason'],
		['agent-start', 'not an object', 'data']
	])('invalid %s data %j reported at %s', (type, data, path) => {
		expect(issues({ type, data }).map((i) => i.path)).toContain(path);
	});

	test('step events need a stepId', () => {
		// Without data too: the stepId rule must not be skipped when data is optional.
		expect(issues({ type: 'step-end', data: {} }).map((i) => i.path)).toEqual(['stepId']);
		expect(issues({ type: 'step-start', data: { name: 'search', kind: 'tool' } })).toEqual([
			{ path: 'stepId', message: 'step-start needs a stepId' }
		]);
		expect(issues({ type: 'step-end' }).map((i) => i.path)).toEqual(['stepId']);
		expect(issues({ type: 'step-start', stepId: 's1', data: { name: 'search', kind: 'tool' } })).toEqual([]);
		expect(issues({ type: 'step-end', stepId: 's1', data: { usage: { inputTokens: 4 } } })).toEqual([]);
	});

	test('step-start validates name and kind', () => {
		expect(issues({ type: 'step-start', stepId: 's', data: { name: 'x', kind: 'robot' } }).map((i) => i.path)).toEqual([
			'data.kind'
		]);
		expect(issues({ type: 'step-start', stepId: 's', data: { name: '', kind: 'llm' } }).map((i) => i.path)).toEqual([
			'data.name'
		]);
	});

	test('step-end usage is validated', () => {
		expect(issues({ type: 'step-end', stepId: 's', data: { usage: { inputTokens: 'many' } } }).map((i) => i.path)).toEqual([
			'data.usage.inputTokens'
		]);
	});

	test('other types may carry a stepId and parentStepId', () => {
		expect(issues({ type: 'log', stepId: 's2', parentStepId: 's1', data: { level: 'info', message: 'x' } })).toEqual([]);
		expect(issues({ type: 'log', stepId: 'bad id', data: { level: 'info', message: 'x' } }).map((i) => i.path)).toEqual([
			'stepId'
		]);
	});

	test('unknown top-level keys are rejected (seq is the server’s)', () => {
		expect(issues({ type: 'x', seq: 5 }).length).toBeGreaterThan(0);
		expect(issues({ type: 'x', foo: 1 }).length).toBeGreaterThan(0);
	});

	test('ts must be ISO-8601 with a zone', () => {
		expect(issues({ type: 'x', ts: '2025-01-02T03:04:05.678Z' })).toEqual([]);
		expect(issues({ type: 'x', ts: '2025-01-02T03:04:05+02:00' })).toEqual([]);
		expect(issues({ type: 'x', ts: '2025-01-02 03:04:05' }).map((i) => i.path)).toEqual(['ts']);
		expect(issues({ type: 'x', ts: 1735786800000 }).map((i) => i.path)).toEqual(['ts']);
	});

	test('event ids follow the id rules', () => {
		expect(issues({ type: 'x', id: 'ok-1' })).toEqual([]);
		expect(new Set(issues({ type: 'x', id: '' }).map((i) => i.path))).toEqual(new Set(['id']));
		expect(new Set(issues({ type: 'x', id: 'x'.repeat(65) }).map((i) => i.path))).toEqual(new Set(['id']));
	});

	test('type is required', () => {
		expect(issues({ data: {} }).map((i) => i.path)).toEqual(['type']);
		expect(issues(null).length).toBeGreaterThan(0);
		expect(issues([]).length).toBeGreaterThan(0);
	});
});

describe('storedEventSchema', () => {
	test('requires a positive integer seq, id and ts', () => {
		const ok = { seq: 1, id: 'e', type: 'x', ts: '2025-01-01T00:00:00.000Z' };
		expect(storedEventSchema.parse(ok)).toEqual(ok);
		expect(storedEventSchema.safeParse({ ...ok, seq: 0 }).success).toBe(false);
		expect(storedEventSchema.safeParse({ ...ok, seq: 1.5 }).success).toBe(false);
		expect(storedEventSchema.safeParse({ ...ok, id: undefined }).success).toBe(false);
		expect(storedEventSchema.safeParse({ ...ok, ts: undefined }).success).toBe(false);
	});
});

test('isCoreEventType knows exactly the core types', () => {
	expect(CORE_EVENT_TYPES.sort()).toEqual(
		['agent-complete', 'agent-start', 'cancel-requested', 'cancelled', 'error', 'log', 'output', 'step-end', 'step-start', 'usage'].sort()
	);
	expect(isCoreEventType('output')).toBe(true);
	expect(isCoreEventType('toString')).toBe(false);
	expect(isCoreEventType('custom')).toBe(false);
});
