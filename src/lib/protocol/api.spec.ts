import { describe, expect, test } from 'vitest';
import { eventBatchSchema, eventsQuerySchema, listQuerySchema } from './api.js';
import { CLOSE_CODES, ERROR_CODES, statusForCode } from './codes.js';
import { DEFAULT_EVENTS_PAGE, DEFAULT_LIST_LIMIT, MAX_BATCH_EVENTS, MAX_EVENTS_PAGE, MAX_LIST_LIMIT } from './limits.js';

describe('eventBatchSchema', () => {
	test('holds 1..MAX_BATCH_EVENTS events', () => {
		expect(eventBatchSchema.safeParse({ events: [] }).success).toBe(false);
		expect(eventBatchSchema.safeParse({ events: [{ type: 'x' }] }).success).toBe(true);
		const full = Array.from({ length: MAX_BATCH_EVENTS }, () => ({ type: 'x' }));
		expect(eventBatchSchema.safeParse({ events: full }).success).toBe(true);
		expect(eventBatchSchema.safeParse({ events: [...full, { type: 'x' }] }).success).toBe(false);
	});

	test('reports the index of a bad event', () => {
		const result = eventBatchSchema.safeParse({ events: [{ type: 'x' }, { type: 'log', data: {} }] });
		expect(result.success).toBe(false);
		expect(result.error!.issues[0]!.path.slice(0, 3)).toEqual(['events', 1, 'data']);
	});

	test('rejects extra keys', () => {
		expect(eventBatchSchema.safeParse({ events: [{ type: 'x' }], more: 1 }).success).toBe(false);
	});
});

describe('eventsQuerySchema', () => {
	test('defaults', () => {
		expect(eventsQuerySchema.parse({})).toEqual({ limit: DEFAULT_EVENTS_PAGE });
	});

	test('before pages back; since and before together are refused', () => {
		expect(eventsQuerySchema.parse({ before: '500', limit: '10' })).toEqual({ before: 500, limit: 10 });
		expect(eventsQuerySchema.safeParse({ before: '-1' }).success).toBe(false);
		const both = eventsQuerySchema.safeParse({ since: '1', before: '5' });
		expect(both.success).toBe(false);
		expect(both.error?.issues[0]?.message).toMatch(/since or before/);
	});

	test('parses digits', () => {
		expect(eventsQuerySchema.parse({ since: '42', limit: '7' })).toEqual({ since: 42, limit: 7 });
		expect(eventsQuerySchema.parse({ since: String(Number.MAX_SAFE_INTEGER) }).since).toBe(Number.MAX_SAFE_INTEGER);
		expect(eventsQuerySchema.parse({ limit: String(MAX_EVENTS_PAGE) }).limit).toBe(MAX_EVENTS_PAGE);
	});

	test.each([
		{ since: '-1' },
		{ since: '1.5' },
		{ since: 'abc' },
		{ since: '' },
		{ since: '1e3' },
		{ since: ' 1' },
		{ since: '99999999999999999999' },
		{ limit: '0' },
		{ limit: '-5' },
		{ limit: String(MAX_EVENTS_PAGE + 1) },
		{ limit: '99999999999999999999' }
	])('rejects %j', (query) => {
		expect(eventsQuerySchema.safeParse(query).success).toBe(false);
	});
});

describe('listQuerySchema', () => {
	test('defaults and filters', () => {
		expect(listQuerySchema.parse({})).toEqual({ limit: DEFAULT_LIST_LIMIT });
		expect(listQuerySchema.parse({ status: 'running', agent: 'a', department: 'd', q: 'x', limit: '5' })).toEqual({
			status: 'running',
			agent: 'a',
			department: 'd',
			q: 'x',
			limit: 5
		});
	});

	test('rejects bad status and limits', () => {
		expect(listQuerySchema.safeParse({ status: 'done' }).success).toBe(false);
		expect(listQuerySchema.safeParse({ limit: String(MAX_LIST_LIMIT + 1) }).success).toBe(false);
		expect(listQuerySchema.safeParse({ limit: '0' }).success).toBe(false);
	});
});

test('every error code maps to a 4xx/5xx status and the mapping is stable', () => {
	for (const code of Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]) {
		expect(statusForCode(code)).toBeGreaterThanOrEqual(400);
		expect(statusForCode(code)).toBeLessThan(600);
	}
	expect(statusForCode('unauthorized')).toBe(401);
	expect(statusForCode('not_found')).toBe(404);
	expect(statusForCode('payload_too_large')).toBe(413);
	expect(statusForCode('unsupported_media_type')).toBe(415);
	expect(statusForCode('unavailable')).toBe(503);
	expect(CLOSE_CODES.goingAway).toBe(1001);
	expect(CLOSE_CODES.messageTooBig).toBe(1009);
});
