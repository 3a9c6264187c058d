import { describe, expect, test } from 'vitest';
import type { StoredEvent } from './events.js';
import { applyEvent, initialState, reduceEvents } from './reducer.js';

let n = 0;
function ev(seq: number, type: string, data?: unknown, ts = `2025-01-01T00:00:${String(seq).padStart(2, '0')}.000Z`): StoredEvent {
	const e: StoredEvent = { seq, id: `e${++n}`, type, ts };
	if (data !== undefined) e.data = data;
	return e;
}

describe('reducer', () => {
	test('starts pending with zero usage', () => {
		expect(initialState()).toEqual({ status: 'pending', lastSeq: 0, usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 } });
	});

	test('the first event of any kind moves pending to running', () => {
		const s = reduceEvents([ev(1, 'log', { level: 'info', message: 'x' })]);
		expect(s.status).toBe('running');
		expect(s.startedAt).toBe('2025-01-01T00:00:01.000Z');
		expect(s.lastSeq).toBe(1);
		expect(reduceEvents([ev(1, 'something-custom')]).status).toBe('running');
	});

	test.each([
		['agent-complete', 'completed'],
		['error', 'failed'],
		['cancelled', 'cancelled']
	])('%s ends the execution as %s', (type, status) => {
		const s = reduceEvents([ev(1, 'agent-start'), ev(2, type, type === 'error' ? { message: 'boom' } : undefined)]);
		expect(s.status).toBe(status);
		expect(s.endedAt).toBe('2025-01-01T00:00:02.000Z');
		expect(s.startedAt).toBe('2025-01-01T00:00:01.000Z');
	});

	test('a terminal event as the very first event sets start and end', () => {
		const s = reduceEvents([ev(1, 'agent-complete')]);
		expect(s).toMatchObject({ status: 'completed', startedAt: s.endedAt });
	});

	test('the first terminal event wins', () => {
		const s = reduceEvents([
			ev(1, 'agent-start'),
			ev(2, 'error', { message: 'first failure' }),
			ev(3, 'agent-complete'),
			ev(4, 'cancelled'),
			ev(5, 'error', { message: 'second failure' })
		]);
		expect(s.status).toBe('failed');
		expect(s.error).toBe('first failure');
		expect(s.endedAt).toBe('2025-01-01T00:00:02.000Z');
		expect(s.lastSeq).toBe(5);
	});

	test('an error without a message still fails', () => {
		expect(reduceEvents([ev(1, 'error', {})]).error).toBe('failed');
	});

	test('usage sums usage events and step-end usage, costs without float noise', () => {
		const s = reduceEvents([
			ev(1, 'usage', { inputTokens: 10, outputTokens: 5, costUsd: 0.1 }),
			ev(2, 'step-end', { usage: { inputTokens: 3, costUsd: 0.2 } }),
			ev(3, 'step-end', { output: 'no usage' }),
			ev(4, 'usage', { outputTokens: 7 }),
			ev(5, 'agent-complete'),
			// Usage reported after the end still counts: tokens were spent.
			ev(6, 'usage', { inputTokens: 1, costUsd: 0.0000015 })
		]);
		expect(s.usage).toEqual({ inputTokens: 14, outputTokens: 12, costUsd: 0.300002 });
		expect(s.status).toBe('completed');
	});

	test('junk usage values are ignored, not summed', () => {
		const s = reduceEvents([
			ev(1, 'usage', { inputTokens: -5, outputTokens: 'many', costUsd: Number.NaN }),
			ev(2, 'usage', null),
			ev(3, 'step-end', { usage: 'lots' })
		]);
		expect(s.usage).toEqual({ inputTokens: 0, outputTokens: 0, costUsd: 0 });
		expect(s.lastSeq).toBe(3);
	});

	test('duplicate and old seqs are ignored (same object back)', () => {
		const s1 = reduceEvents([ev(1, 'usage', { inputTokens: 5 }), ev(2, 'usage', { inputTokens: 5 })]);
		expect(applyEvent(s1, ev(2, 'usage', { inputTokens: 100 }))).toBe(s1);
		expect(applyEvent(s1, ev(1, 'agent-complete'))).toBe(s1);
		expect(s1.usage.inputTokens).toBe(10);
	});

	test('is pure: inputs are not mutated and the same events give the same state', () => {
		const events = [ev(1, 'agent-start'), ev(2, 'usage', { inputTokens: 2 }), ev(3, 'error', { message: 'x' })];
		const snapshot = structuredClone(events);
		const start = initialState();
		const startSnapshot = structuredClone(start);
		const a = reduceEvents(events, start);
		const b = reduceEvents(events, start);
		expect(a).toEqual(b);
		expect(a).not.toBe(b);
		expect(events).toEqual(snapshot);
		expect(start).toEqual(startSnapshot);
	});

	test('reduceEvents continues from a given state', () => {
		const events = [ev(1, 'agent-start'), ev(2, 'usage', { inputTokens: 2 }), ev(3, 'agent-complete')];
		const whole = reduceEvents(events);
		const resumed = reduceEvents(events.slice(1), reduceEvents(events.slice(0, 1)));
		expect(resumed).toEqual(whole);
		// Replaying everything on top of the final state changes nothing.
		expect(reduceEvents(events, whole)).toBe(whole);
	});

	test('cancel-requested names the wait between the request and the end: cancelling', () => {
		const requested = reduceEvents([ev(1, 'agent-start'), ev(2, 'cancel-requested', { reason: 'looping' })]);
		expect(requested).toMatchObject({ status: 'cancelling', cancelRequestedAt: '2025-01-01T00:00:02.000Z', cancelReason: 'looping' });
		expect(requested.endedAt).toBeUndefined();
		// The agent keeps running (and reporting) until it stops; a second request changes nothing.
		const still = reduceEvents([ev(3, 'output', { text: 'x' }), ev(4, 'cancel-requested', { reason: 'again' })], requested);
		expect(still).toMatchObject({ status: 'cancelling', cancelReason: 'looping', lastSeq: 4 });
		expect(reduceEvents([ev(5, 'cancelled')], still)).toMatchObject({ status: 'cancelled', endedAt: '2025-01-01T00:00:05.000Z' });
		// An agent that finishes anyway, or fails, ends it as it says.
		expect(reduceEvents([ev(5, 'agent-complete')], still).status).toBe('completed');
		expect(reduceEvents([ev(5, 'error', { message: 'killed' })], still).status).toBe('failed');
	});

	test('a cancel request after the end changes nothing', () => {
		const done = reduceEvents([ev(1, 'agent-complete'), ev(2, 'cancel-requested')]);
		expect(done.status).toBe('completed');
		expect(done.cancelRequestedAt).toBeUndefined();
	});
});
