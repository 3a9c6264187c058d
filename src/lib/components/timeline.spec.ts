import { describe, expect, it } from 'vitest';
import { fakeEvent } from '$lib/client/testing/fake-transport';
import type { StepSpan } from '$lib/client/stores/execution-store';
import { basisElapsedMs, eventTone, failingError, filterEvents, spanBar, timeBasis, waterfallEnd } from './timeline';

const span = (overrides: Partial<StepSpan> = {}): StepSpan => ({
	id: 's',
	name: 'search',
	kind: 'tool',
	startSeq: 1,
	startTs: '2025-01-01T00:00:01.000Z',
	failed: false,
	...overrides
});
const T0 = Date.parse('2025-01-01T00:00:00.000Z');

describe('spanBar', () => {
	it('places a finished step on the waterfall', () => {
		const bar = spanBar(span({ endTs: '2025-01-01T00:00:03.000Z' }), T0, T0 + 10_000, T0 + 10_000, true);
		expect(bar).toEqual({ left: 0.1, width: 0.2, ms: 2000, state: 'done' });
	});
	it('shows a step without an end as running up to now, or unfinished once the execution ended', () => {
		expect(spanBar(span(), T0, T0 + 5000, T0 + 5000, false)).toMatchObject({ state: 'running', ms: 4000, left: 0.2, width: 0.8 });
		expect(spanBar(span(), T0, T0 + 5000, T0 + 5000, true)?.state).toBe('unfinished');
		expect(spanBar(span({ endTs: '2025-01-01T00:00:02.000Z', failed: true }), T0, T0 + 5000, T0 + 5000, true)?.state).toBe('failed');
	});
	it('measures a running step to now, not to the rounded end of the scale', () => {
		// 11.1 s in: the scale ends at 15 s; the step, started at 1 s, has run 10.1 s.
		const now = T0 + 11_100;
		const scaleEnd = waterfallEnd(T0, now);
		expect(scaleEnd).toBe(T0 + 15_000);
		const bar = spanBar(span(), T0, scaleEnd, now, false)!;
		expect(bar.ms).toBe(10_100);
		expect(bar.left).toBeCloseTo(1 / 15);
		expect(bar.width).toBeCloseTo(10.1 / 15);
	});
});

describe('filterEvents', () => {
	const events = [
		fakeEvent(1, 'agent-start', {}),
		fakeEvent(2, 'log', { level: 'info', message: 'Fetching the Ledger' }),
		fakeEvent(3, 'output', { text: 'hello' }),
		fakeEvent(4, 'error', { message: 'boom', stack: 'at ledger.js:1' })
	];
	it('returns the same array without a filter (no copy per frame)', () => {
		expect(filterEvents(events, { types: [], query: '' })).toBe(events);
	});
	it('filters by type and searches data in any case', () => {
		expect(filterEvents(events, { types: ['log', 'error'], query: '' }).map((e) => e.seq)).toEqual([2, 4]);
		expect(filterEvents(events, { types: [], query: 'LEDGER' }).map((e) => e.seq)).toEqual([2, 4]);
		expect(filterEvents(events, { types: ['error'], query: 'ledger' }).map((e) => e.seq)).toEqual([4]);
	});
	it('finds the failing error and colours errors and warnings', () => {
		expect(failingError(events)?.seq).toBe(4);
		expect(eventTone(events[3]!)).toBe('bad');
		expect(eventTone(fakeEvent(5, 'log', { level: 'warn', message: 'hm' }))).toBe('warn');
		expect(eventTone(fakeEvent(6, 'step-end', { error: 'timeout' }))).toBe('bad');
	});
});

describe('waterfallEnd', () => {
	it('rounds a running scale up to a steady step', () => {
		expect(waterfallEnd(0, 12_300)).toBe(15_000);
		expect(waterfallEnd(0, 14_999)).toBe(15_000);
		expect(waterfallEnd(0, 180_001)).toBe(200_000);
		expect(waterfallEnd(0, 400)).toBe(1000);
		expect(waterfallEnd(undefined, 5)).toBe(5);
	});
});

describe('timeBasis', () => {
	const at = (ms: number) => new Date(T0 + ms).toISOString();
	it('measures a running execution to now', () => {
		const basis = timeBasis({ startedAt: at(0) }, [fakeEvent(1, 'agent-start', {})].map((e) => ({ ...e, ts: at(0) })), T0 + 4000);
		expect(basis).toEqual({ startMs: T0, atMs: T0 + 4000 });
		expect(basisElapsedMs(basis)).toBe(4000);
	});
	it('never puts now behind the newest event: the header agrees with the timeline', () => {
		const events = [fakeEvent(1, 'agent-start', {}), fakeEvent(2)].map((e, i) => ({ ...e, ts: at(i * 500) }));
		// This viewer's clock says the execution has not started yet; its newest event is at +0.5 s.
		expect(basisElapsedMs(timeBasis({ startedAt: at(0) }, events, T0 - 30_000))).toBe(500);
	});
	it('measures an ended execution to its end, and one that has not started as nothing', () => {
		expect(basisElapsedMs(timeBasis({ startedAt: at(0), endedAt: at(7000) }, [], T0 + 60_000))).toBe(7000);
		expect(basisElapsedMs(timeBasis({}, [], T0))).toBeUndefined();
		// The first event held stands in for a start the execution does not carry.
		expect(timeBasis({}, [{ ...fakeEvent(1), ts: at(250) }], T0 + 1000).startMs).toBe(T0 + 250);
	});
});
