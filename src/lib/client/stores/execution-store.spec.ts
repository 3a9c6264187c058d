import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { get } from 'svelte/store';
import type { Execution } from '../../protocol/executions.js';
import { Connection } from '../connection.js';
import { FakeTransportFactory, fakeEvent, fakeEvents } from '../testing/fake-transport.js';
import { executionListStore } from './execution-list-store.js';
import { executionStore, initialExecutionView, type ExecutionView } from './execution-store.js';
import type { FrameScheduler } from './frame.js';

function execution(overrides: Partial<Execution> = {}): Execution {
	return {
		id: 'run-1',
		agent: { name: 'researcher' },
		metadata: {},
		createdAt: '2025-01-01T00:00:00.000Z',
		updatedAt: '2025-01-01T00:00:00.000Z',
		status: 'pending',
		lastSeq: 0,
		usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
		...overrides
	};
}

/** A frame scheduler the test advances by hand. */
function manualFrames() {
	const queued = new Set<() => void>();
	const schedule: FrameScheduler = (callback) => {
		queued.add(callback);
		return () => queued.delete(callback);
	};
	return {
		schedule,
		get pending() {
			return queued.size;
		},
		run() {
			const callbacks = [...queued];
			queued.clear();
			for (const callback of callbacks) callback();
		}
	};
}

function setup() {
	const factory = new FakeTransportFactory();
	const connection = new Connection({ transports: [factory], environment: {}, onDiagnostic: () => {} });
	return { factory, connection, frames: manualFrames() };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('initialExecutionView', () => {
	it('folds in tail events newer than the execution row, through the reducer', () => {
		const events = [
			fakeEvent(1, 'agent-start', {}),
			fakeEvent(2, 'output', { text: 'Hello, ' }),
			fakeEvent(3, 'output', { text: 'world' }),
			fakeEvent(4, 'step-start', { name: 'search', kind: 'tool' })
		];
		events[3]!.stepId = 's1';
		const view = initialExecutionView({
			execution: execution({ status: 'running', lastSeq: 2, startedAt: events[0]!.ts }),
			events
		});
		expect(view.execution.lastSeq).toBe(4);
		expect(view.execution.status).toBe('running');
		expect(view.output).toBe('Hello, world');
		expect(view.steps.get('s1')).toEqual({ name: 'search', kind: 'tool' });
		expect(view.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
	});
});

describe('executionStore', () => {
	it('subscribes from the rendered last seq and applies a burst of 1,000 events in one update', () => {
		const { factory, connection, frames } = setup();
		const store = executionStore(
			{ execution: execution({ status: 'running', lastSeq: 2 }), events: fakeEvents(1, 2) },
			{ connection, schedule: frames.schedule }
		);
		const updates: ExecutionView[] = [];
		const stop = store.subscribe((view) => updates.push(view));
		expect(updates).toHaveLength(1);
		const t = factory.last;
		t.open();
		expect(t.sentOf('subscribe')).toEqual([{ type: 'subscribe', executionId: 'run-1', since: 2 }]);
		t.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 2 });

		for (const event of fakeEvents(3, 1002)) t.receive({ type: 'event', executionId: 'run-1', event });
		expect(updates).toHaveLength(1);
		expect(frames.pending).toBe(1);
		frames.run();
		expect(updates).toHaveLength(2);
		const view = updates[1]!;
		expect(view.events).toHaveLength(1002);
		expect(view.events.map((e) => e.seq)).toEqual(Array.from({ length: 1002 }, (_, i) => i + 1));
		expect(view.execution.lastSeq).toBe(1002);
		stop();
	});

	it('updates the summary through the shared reducer', () => {
		const { factory, connection, frames } = setup();
		const store = executionStore({ execution: execution(), events: [] }, { connection, schedule: frames.schedule });
		const stop = store.subscribe(() => {});
		const t = factory.last;
		t.open();
		t.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 0 });
		const end = fakeEvent(3, 'step-end', { usage: { inputTokens: 10, outputTokens: 5, costUsd: 0.1 } });
		end.stepId = 's1';
		t.receive({
			type: 'events',
			executionId: 'run-1',
			events: [fakeEvent(1, 'agent-start', {}), fakeEvent(2, 'output', { text: 'hi' }), end, fakeEvent(4, 'error', { message: 'boom' })]
		});
		frames.run();
		const { execution: summary, output } = get(store);
		expect(summary.status).toBe('failed');
		expect(summary.error).toBe('boom');
		expect(summary.usage).toEqual({ inputTokens: 10, outputTokens: 5, costUsd: 0.1 });
		expect(summary.startedAt).toBe(fakeEvent(1).ts);
		expect(output).toBe('hi');
		stop();
	});

	it('opens nothing during SSR-style use without a connection', () => {
		const store = executionStore({ execution: execution(), events: [] });
		expect(get(store).execution.id).toBe('run-1');
	});

	it('keeps what arrived when stopped and resumes from it', () => {
		const { factory, connection, frames } = setup();
		const store = executionStore({ execution: execution(), events: [] }, { connection, schedule: frames.schedule });
		const stop = store.subscribe(() => {});
		factory.last.open();
		factory.last.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 0 });
		factory.last.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(1, 3) });
		stop();
		expect(frames.pending).toBe(0);
		const stop2 = store.subscribe(() => {});
		expect(factory.last.sentOf('subscribe').at(-1)).toEqual({ type: 'subscribe', executionId: 'run-1', since: 3 });
		expect(get(store).events).toHaveLength(3);
		stop2();
	});
});

describe('executionListStore', () => {
	it('follows each listed execution from its rendered seq and updates status in one batch', () => {
		const { factory, connection, frames } = setup();
		const store = executionListStore(
			[execution({ id: 'a', status: 'running', lastSeq: 1 }), execution({ id: 'b', lastSeq: 0 })],
			{ connection, schedule: frames.schedule }
		);
		const updates: Execution[][] = [];
		const stop = store.subscribe((list) => updates.push(list));
		const t = factory.last;
		t.open();
		expect(t.sentOf('subscribe')).toEqual([
			{ type: 'subscribe', executionId: 'a', since: 1 },
			{ type: 'subscribe', executionId: 'b', since: 0 }
		]);
		t.receive({ type: 'subscribed', executionId: 'a', lastSeq: 2 });
		t.receive({ type: 'subscribed', executionId: 'b', lastSeq: 1 });
		t.receive({ type: 'event', executionId: 'a', event: fakeEvent(2, 'agent-complete', {}) });
		t.receive({ type: 'event', executionId: 'b', event: fakeEvent(1, 'agent-start', {}) });
		frames.run();
		expect(updates).toHaveLength(2);
		expect(updates[1]!.map((e) => [e.id, e.status, e.lastSeq])).toEqual([
			['a', 'completed', 2],
			['b', 'running', 1]
		]);
		stop();
		expect(t.sentOf('unsubscribe')).toHaveLength(2);
	});
});
