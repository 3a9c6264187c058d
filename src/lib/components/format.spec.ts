import { describe, expect, it } from 'vitest';
import { fakeEvent } from '$lib/client/testing/fake-transport';
import { describeEvent, formatAgo, formatCost, formatUsage } from './format';

describe('formatCost', () => {
	it('shows costs under a dollar to a hundredth of a cent, the same way every time', () => {
		expect(formatCost(0.0208)).toBe('$0.0208');
		expect(formatCost(0.0055)).toBe('$0.0055');
		expect(formatCost(0.0042)).toBe('$0.0042');
		expect(formatCost(0.1234)).toBe('$0.1234');
		expect(formatCost(0.02084)).toBe('$0.0208');
		expect(formatCost(0.021)).toBe('$0.021');
	});
	it('drops zeros past the cents, keeps the cents', () => {
		expect(formatCost(0.5)).toBe('$0.50');
		expect(formatCost(0.02)).toBe('$0.02');
		expect(formatCost(0.1)).toBe('$0.10');
	});
	it('shows a dollar and more to the cent, with thousands separated', () => {
		expect(formatCost(1)).toBe('$1.00');
		expect(formatCost(1.2749)).toBe('$1.27');
		expect(formatCost(1204.5)).toBe('$1,204.50');
		expect(formatCost(999.999)).toBe('$1,000.00');
		expect(formatCost(0.99996)).toBe('$1.00');
	});
	it('never shows a cost that was spent as zero, and nothing spent as a dash', () => {
		expect(formatCost(0.00003)).toBe('<$0.0001');
		expect(formatCost(0)).toBe('—');
		expect(formatCost(Number.NaN)).toBe('—');
	});
	it('is the rule of the usage summary and of usage rows too', () => {
		expect(formatUsage({ inputTokens: 100, outputTokens: 20, costUsd: 0.0208 })).toBe('120 tokens · $0.0208');
		expect(describeEvent(fakeEvent(1, 'usage', { inputTokens: 5, costUsd: 0.0055 }))).toBe('5 in · $0.0055');
		expect(describeEvent(fakeEvent(2, 'usage', { costUsd: 0.02 }))).toBe('$0.02');
	});
});

describe('formatAgo', () => {
	const now = Date.parse('2026-12-02T03:00:00Z');
	it('says how long ago, coarsely', () => {
		expect(formatAgo('2026-12-02T02:59:30Z', now)).toBe('just now');
		expect(formatAgo('2026-12-02T02:57:00Z', now)).toBe('3 min ago');
		expect(formatAgo('2026-12-02T00:00:00Z', now)).toBe('3 h ago');
		expect(formatAgo('2026-11-20T03:00:00Z', now)).toBe('12 days ago');
	});
	it('treats a moment slightly ahead of this clock as just now, and a bad time as nothing', () => {
		expect(formatAgo('2026-12-02T03:00:20Z', now)).toBe('just now');
		expect(formatAgo('garbage', now)).toBe('');
		expect(formatAgo(undefined, now)).toBe('');
	});
});
