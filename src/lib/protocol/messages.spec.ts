import { describe, expect, test } from 'vitest';
import { clientMessageSchema, errorBodySchema, serverMessageSchema } from './messages.js';

const event = { seq: 1, id: 'e1', type: 'output', ts: '2025-01-01T00:00:00.000Z', data: { text: 'hi' } };

describe('clientMessageSchema', () => {
	test.each([
		{ type: 'subscribe', executionId: 'run-1' },
		{ type: 'subscribe', executionId: 'run-1', since: 0 },
		{ type: 'subscribe', executionId: 'run-1', since: Number.MAX_SAFE_INTEGER },
		{ type: 'unsubscribe', executionId: 'run-1' },
		{ type: 'ping' }
	])('accepts %j', (message) => {
		expect(clientMessageSchema.parse(message)).toEqual(message);
	});

	test.each([
		{ type: 'subscribe' },
		{ type: 'subscribe', executionId: '' },
		{ type: 'subscribe', executionId: 'bad id' },
		{ type: 'subscribe', executionId: 'x'.repeat(65) },
		{ type: 'subscribe', executionId: 'a', since: -1 },
		{ type: 'subscribe', executionId: 'a', since: 1.5 },
		{ type: 'subscribe', executionId: 'a', since: '3' },
		{ type: 'subscribe', executionId: 'a', since: Number.MAX_SAFE_INTEGER + 2 },
		{ type: 'subscribe', executionId: 'a', extra: true },
		{ type: 'unsubscribe' },
		{ type: 'ping', extra: 1 },
		{ type: 'pong' },
		{ type: 'publish', executionId: 'a' },
		{},
		null,
		'ping'
	])('rejects %j', (message) => {
		expect(clientMessageSchema.safeParse(message).success).toBe(false);
	});
});

describe('serverMessageSchema', () => {
	test.each([
		{ type: 'subscribed', executionId: 'a', lastSeq: 0 },
		{ type: 'event', executionId: 'a', event },
		{ type: 'events', executionId: 'a', events: [event, { ...event, seq: 2, id: 'e2' }] },
		{ type: 'pong' },
		{ type: 'execution-deleted', executionId: 'a' },
		{ type: 'error', code: 'not_found', message: 'No execution' },
		{ type: 'error', code: 'bad_request', message: 'x', executionId: 'a' }
	])('accepts %j', (message) => {
		expect(serverMessageSchema.parse(message)).toEqual(message);
	});

	test.each([
		{ type: 'subscribed', executionId: 'a', lastSeq: -1 },
		{ type: 'event', executionId: 'a', event: { ...event, seq: 0 } },
		{ type: 'events', executionId: 'a', events: [{ ...event, id: undefined }] },
		{ type: 'error', message: 'no code' },
		{ type: 'execution-deleted', executionId: 'not an id!' },
		{ type: 'hello' }
	])('rejects %j', (message) => {
		expect(serverMessageSchema.safeParse(message).success).toBe(false);
	});
});

test('errorBodySchema is { error: { code, message } }', () => {
	expect(errorBodySchema.safeParse({ error: { code: 'x', message: 'y' } }).success).toBe(true);
	expect(errorBodySchema.safeParse({ error: 'x' }).success).toBe(false);
	expect(errorBodySchema.safeParse({ code: 'x', message: 'y' }).success).toBe(false);
});
