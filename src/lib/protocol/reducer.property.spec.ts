import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { eventInputSchema, type StoredEvent } from './events.js';
import { TERMINAL_STATUSES, usageTotalsSchema, type ExecutionStatus } from './executions.js';
import { applyEvent, initialState, reduceEvents, type ExecutionState } from './reducer.js';

/*
 * The reducer as properties: status is a pure function of the events in seq order, whatever
 * order and how often they were delivered. The server reduces in commit order; a browser merges
 * a server-rendered page, replays and live pushes, which overlap and may arrive out of order.
 */

const T0 = Date.UTC(2026, 0, 1);

/** Core types that move the status, a few that do not, and usage-bearing ones (weighted up). */
const eventType = fc.oneof(
	{ weight: 3, arbitrary: fc.constantFrom('usage', 'step-end') },
	{ weight: 2, arbitrary: fc.constantFrom('agent-start', 'output', 'log', 'step-start', 'custom:thing') },
	{ weight: 1, arbitrary: fc.constantFrom('agent-complete', 'error', 'cancelled', 'cancel-requested') }
);

/** Costs as agents report them: whole micro-dollars mostly, any non-negative double sometimes. */
const cost = fc.oneof(
	fc.integer({ min: 0, max: 5_000_000 }).map((micros) => micros / 1e6),
	fc.double({ min: 0, max: 100, noNaN: true })
);
const usage = fc.record(
	{ inputTokens: fc.nat({ max: 1_000_000 }), outputTokens: fc.nat({ max: 1_000_000 }), costUsd: cost },
	{ requiredKeys: [] }
);
/** Also what the reducer must ignore: negative, non-finite or non-numeric counts (it runs on stored data). */
const junkUsage = fc.record(
	{
		inputTokens: fc.oneof(fc.constant(-1), fc.constant('12'), fc.constant(null), fc.constant(Number.NaN)),
		costUsd: fc.oneof(fc.constant(-0.5), fc.constant(Number.POSITIVE_INFINITY), fc.constant('0.1'))
	},
	{ requiredKeys: [] }
);

function dataFor(type: string): fc.Arbitrary<unknown> {
	switch (type) {
		case 'usage':
			return fc.oneof({ weight: 4, arbitrary: usage }, { weight: 1, arbitrary: junkUsage });
		case 'step-end':
			return fc.option(fc.record({ usage: fc.oneof(usage, junkUsage) }, { requiredKeys: [] }), { nil: undefined });
		case 'error':
			return fc.option(fc.record({ message: fc.string({ maxLength: 8 }) }, { requiredKeys: [] }), { nil: undefined });
		case 'cancel-requested':
			return fc.option(fc.record({ reason: fc.string({ maxLength: 8 }) }, { requiredKeys: [] }), { nil: undefined });
		default:
			// Usage on any other type is not counted.
			return fc.option(fc.record({ usage }, { requiredKeys: [] }), { nil: undefined });
	}
}

const eventShape = eventType.chain((type) => fc.record({ type: fc.constant(type), data: dataFor(type), dt: fc.nat({ max: 60_000 }) }));

/** A gapless event list, seq 1..n, timestamps not decreasing. */
const eventList = fc.array(eventShape, { maxLength: 40 }).map((shapes) => {
	let at = T0;
	return shapes.map(({ type, data, dt }, i): StoredEvent => {
		at += dt;
		const event: StoredEvent = { seq: i + 1, id: `e${i + 1}`, type, ts: new Date(at).toISOString() };
		if (data !== undefined) event.data = data;
		return event;
	});
});

/** The events delivered in any order, every one at least once, some of them repeated. */
const delivered = eventList.chain((events) =>
	fc.record({
		events: fc.constant(events),
		arrived: fc.array(fc.nat({ max: Math.max(0, events.length - 1) }), { maxLength: events.length }).chain((repeats) => {
			const all = [...events, ...(events.length > 0 ? repeats.map((i) => events[i]!) : [])];
			return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
		})
	})
);

/** What a viewer does with what arrived: keep one per seq, sort, reduce. */
function dedupeAndSort(arrived: readonly StoredEvent[]): StoredEvent[] {
	const bySeq = new Map<number, StoredEvent>();
	for (const event of arrived) if (!bySeq.has(event.seq)) bySeq.set(event.seq, event);
	return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

const TERMINAL: Record<string, ExecutionStatus> = { 'agent-complete': 'completed', error: 'failed', cancelled: 'cancelled' };

/** The contract of docs/protocol.md ("Status"), written out independently of the reducer. */
function model(events: readonly StoredEvent[]): Pick<ExecutionState, 'status' | 'startedAt' | 'endedAt' | 'error' | 'cancelRequestedAt'> {
	if (events.length === 0) return { status: 'pending' };
	const startedAt = events[0]!.ts;
	const end = events.findIndex((e) => e.type in TERMINAL);
	const beforeEnd = end === -1 ? events : events.slice(0, end);
	const cancel = beforeEnd.find((e) => e.type === 'cancel-requested');
	const out: ReturnType<typeof model> = { status: 'running', startedAt };
	if (cancel) Object.assign(out, { status: 'cancelling', cancelRequestedAt: cancel.ts });
	if (end !== -1) {
		const last = events[end]!;
		out.status = TERMINAL[last.type]!;
		out.endedAt = last.ts;
		if (last.type === 'error') {
			const message = (last.data as { message?: unknown } | undefined)?.message;
			out.error = typeof message === 'string' ? message : 'failed';
		}
	}
	return out;
}

function counted(value: unknown): number {
	return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** The usage parts the contract says are added up: `usage` events and `step-end` `data.usage`. */
function usageParts(events: readonly StoredEvent[]): { inputTokens: number; outputTokens: number; costUsd: number }[] {
	return events.flatMap((event) => {
		const data = (event.data ?? {}) as Record<string, unknown>;
		const raw = event.type === 'usage' ? data : event.type === 'step-end' ? data.usage : undefined;
		if (raw === null || typeof raw !== 'object') return [];
		const u = raw as Record<string, unknown>;
		return [{ inputTokens: counted(u.inputTokens), outputTokens: counted(u.outputTokens), costUsd: counted(u.costUsd) }];
	});
}

describe('reducer, by property', () => {
	test('whatever the delivery order and repeats, deduplicated by seq and sorted, the state is that of the ordered list', () => {
		fc.assert(
			fc.property(delivered, ({ events, arrived }) => {
				expect(reduceEvents(dedupeAndSort(arrived))).toEqual(reduceEvents(events));
			}),
			{ numRuns: 200 }
		);
	});

	test('in-order delivery with replays mixed in (seq ≤ lastSeq ignored) gives the ordered state', () => {
		// A reconnect replays from an older seq; a live push may repeat what a page load held.
		const withReplays = eventList.chain((events) =>
			fc.record({
				events: fc.constant(events),
				replayFrom: fc.array(fc.nat({ max: Math.max(0, events.length - 1) }), { maxLength: events.length })
			})
		);
		fc.assert(
			fc.property(withReplays, ({ events, replayFrom }) => {
				let state = initialState();
				events.forEach((event, i) => {
					state = applyEvent(state, event);
					// After the i-th event, replay from a random earlier point up to it.
					const from = replayFrom[i];
					if (from !== undefined && from <= i) for (const old of events.slice(from, i + 1)) state = applyEvent(state, old);
				});
				expect(state).toEqual(reduceEvents(events));
			}),
			{ numRuns: 200 }
		);
	});

	test('applying an event twice changes nothing', () => {
		fc.assert(
			fc.property(eventList, fc.nat(), (events, pick) => {
				fc.pre(events.length > 0);
				const cut = pick % events.length;
				const before = reduceEvents(events.slice(0, cut));
				const once = applyEvent(before, events[cut]!);
				expect(applyEvent(once, events[cut]!)).toBe(once);
				// An older event, too.
				for (const old of events.slice(0, cut + 1)) expect(applyEvent(once, old)).toBe(once);
			}),
			{ numRuns: 200 }
		);
	});

	test('status, start, end, error and cancel request follow the contract for every prefix', () => {
		fc.assert(
			fc.property(eventList, (events) => {
				let state = initialState();
				let firstTerminal: ExecutionState | undefined;
				events.forEach((event, i) => {
					state = applyEvent(state, event);
					const prefix = events.slice(0, i + 1);
					expect(state).toMatchObject(model(prefix));
					for (const key of ['endedAt', 'error', 'cancelRequestedAt'] as const) {
						if (model(prefix)[key] === undefined) expect(state[key], key).toBeUndefined();
					}
					expect(state.lastSeq).toBe(event.seq);
					// Terminal status never changes after the first terminal event.
					if (firstTerminal) {
						expect(state.status).toBe(firstTerminal.status);
						expect(state.endedAt).toBe(firstTerminal.endedAt);
						expect(state.error).toBe(firstTerminal.error);
					} else if (TERMINAL_STATUSES.has(state.status)) firstTerminal = state;
					// `cancelling` only between a cancel request and the end.
					const seenCancel = prefix.some((e) => e.type === 'cancel-requested');
					if (state.status === 'cancelling') expect(seenCancel && !firstTerminal).toBe(true);
					if (seenCancel && !TERMINAL_STATUSES.has(state.status)) expect(state.status).toBe('cancelling');
				});
			}),
			{ numRuns: 200 }
		);
	});

	test('usage totals are the sums of the parts; cost is summed in micro-dollars', () => {
		fc.assert(
			fc.property(eventList, (events) => {
				const { usage } = reduceEvents(events);
				const parts = usageParts(events);
				expect(usage.inputTokens).toBe(parts.reduce((sum, p) => sum + p.inputTokens, 0));
				expect(usage.outputTokens).toBe(parts.reduce((sum, p) => sum + p.outputTokens, 0));
				// Each addition rounds to the micro-dollar: the total is a whole number of
				// micro-dollars, within half a micro-dollar per part of the exact sum.
				const exact = parts.reduce((sum, p) => sum + p.costUsd, 0);
				expect(Math.abs(usage.costUsd - exact)).toBeLessThanOrEqual(parts.length * 0.5e-6 + 1e-9);
				const micros = usage.costUsd * 1e6;
				expect(Math.abs(micros - Math.round(micros))).toBeLessThan(1e-6 * Math.max(1, micros));
				// Parts in whole micro-dollars add up exactly (0.1 + 0.2 is 0.3).
				if (parts.every((p) => Number.isInteger(Math.round(p.costUsd * 1e6)) && Math.abs(p.costUsd * 1e6 - Math.round(p.costUsd * 1e6)) < 1e-6)) {
					const totalMicros = parts.reduce((sum, p) => sum + Math.round(p.costUsd * 1e6), 0);
					expect(usage.costUsd).toBe(totalMicros / 1e6);
				}
			}),
			{ numRuns: 300 }
		);
	});
});

describe('usage the schema accepts', () => {
	test('adds up to totals that JSON carries (finite numbers), however large each part', () => {
		const anyUsage = fc.record(
			{
				inputTokens: fc.oneof(fc.nat(), fc.maxSafeNat()),
				outputTokens: fc.oneof(fc.nat(), fc.maxSafeNat()),
				costUsd: fc.oneof(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), fc.constant(Number.MAX_VALUE), fc.constant(1e303))
			},
			{ requiredKeys: [] }
		);
		fc.assert(
			fc.property(fc.array(fc.tuple(fc.constantFrom('usage', 'step-end'), anyUsage), { minLength: 1, maxLength: 10 }), (parts) => {
				const events: StoredEvent[] = [];
				for (const [type, usage] of parts) {
					const input = eventInputSchema.safeParse(type === 'usage' ? { type, data: usage } : { type, stepId: 's', data: { usage } });
					if (input.success) events.push({ ...input.data, seq: events.length + 1, id: `e${events.length + 1}`, ts: new Date(T0).toISOString() });
				}
				const { usage } = reduceEvents(events);
				expect(JSON.parse(JSON.stringify(usage))).toEqual(usage);
				expect(usageTotalsSchema.safeParse(JSON.parse(JSON.stringify(usage))).success).toBe(true);
			}),
			{ numRuns: 200 }
		);
	});
});
