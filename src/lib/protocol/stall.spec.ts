import { describe, expect, it } from 'vitest';
import { DEFAULT_STALL_SECONDS, stalledForMs, type StallInput } from './stall.js';

const T0 = Date.parse('2026-12-02T03:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const running = (updatedMs: number, status: StallInput['status'] = 'running'): StallInput => ({
	status,
	createdAt: at(0),
	updatedAt: at(updatedMs)
});
const STALL_MS = DEFAULT_STALL_SECONDS * 1000;

describe('stalledForMs', () => {
	it('defaults to ten minutes', () => {
		expect(DEFAULT_STALL_SECONDS).toBe(600);
	});
	it('is stalled once an unfinished execution has gone the whole time without an event', () => {
		expect(stalledForMs(running(1000), T0 + 1000 + STALL_MS - 1, STALL_MS)).toBeUndefined();
		expect(stalledForMs(running(1000), T0 + 1000 + STALL_MS, STALL_MS)).toBe(STALL_MS);
		expect(stalledForMs(running(1000), T0 + 1000 + STALL_MS + 5000, STALL_MS)).toBe(STALL_MS + 5000);
	});
	it('recovers when an event arrives: the clock counts from the newest activity', () => {
		const clock = T0 + 20 * 60_000;
		expect(stalledForMs(running(0), clock, STALL_MS)).toBeDefined();
		expect(stalledForMs(running(19 * 60_000), clock, STALL_MS)).toBeUndefined();
	});
	it('covers a created execution that never sent an event, and one waiting for its cancel', () => {
		expect(stalledForMs(running(0, 'pending'), T0 + STALL_MS, STALL_MS)).toBe(STALL_MS);
		expect(stalledForMs(running(0, 'cancelling'), T0 + STALL_MS, STALL_MS)).toBe(STALL_MS);
	});
	it('never calls an ended execution stalled', () => {
		for (const status of ['completed', 'failed', 'cancelled'] as const) {
			expect(stalledForMs(running(0, status), T0 + 10 * STALL_MS, STALL_MS)).toBeUndefined();
		}
	});
	it('ignores a clock behind the last event and unreadable times', () => {
		expect(stalledForMs(running(5000), T0, STALL_MS)).toBeUndefined();
		expect(stalledForMs({ status: 'running', createdAt: 'x', updatedAt: 'y' }, T0, STALL_MS)).toBeUndefined();
		expect(stalledForMs(running(0), T0 + STALL_MS, 0)).toBeUndefined();
	});
});
