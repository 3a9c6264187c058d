import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { get } from 'svelte/store';
import type { Execution } from '../../protocol/executions.js';
import { Connection } from '../connection.js';
import { FakeTransportFactory, fakeEvent, fakeEvents } from '../testing/fake-transport.js';
import { executionFeedStore, matchesFilters, mergeExecutions } from './execution-list-store.js';
import { eventDepth, executionStore, initialExecutionView, stepDepth, type ExecutionView } from './execution-store.js';
import type { FrameScheduler } from './frame.js';
import { prependView } from './execution-view.js';

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

	it('a deleted execution (not_found) is said so and no longer followed, not even after a reconnect', () => {
		const { factory, connection, frames } = setup();
		const store = executionStore({ execution: execution(), events: [] }, { connection, schedule: frames.schedule });
		const stop = store.subscribe(() => {});
		factory.last.open();
		factory.last.receive({ type: 'subscribed', executionId: 'run-1', lastSeq: 0 });
		factory.last.receive({ type: 'events', executionId: 'run-1', events: fakeEvents(1, 2) });
		factory.last.receive({ type: 'error', code: 'not_found', executionId: 'run-1', message: 'Execution "run-1" was deleted' });
		expect(get(store).error).toEqual({ code: 'not_found', message: 'Execution "run-1" was deleted' });
		expect(get(store).events).toHaveLength(2);
		expect(factory.last.sentOf('unsubscribe')).toEqual([{ type: 'unsubscribe', executionId: 'run-1' }]);
		factory.last.drop(1001);
		vi.advanceTimersByTime(30_000);
		expect(factory.created.flatMap((t) => t.sentOf('subscribe'))).toHaveLength(1);
		stop();
	});
});

describe('executionStore scroll-back', () => {
	function pageResponse(events: ReturnType<typeof fakeEvents>, lastSeq: number) {
		return new Response(JSON.stringify({ events, lastSeq }), { status: 200, headers: { 'content-type': 'application/json' } });
	}

	it('loads older events in front, one request at a time, until the first event is held', async () => {
		const { connection, frames } = setup();
		const requests: string[] = [];
		const fetchOlder = (async (url: string) => {
			requests.push(url);
			const before = Number(new URL(url, 'http://x').searchParams.get('before'));
			const limit = Number(new URL(url, 'http://x').searchParams.get('limit'));
			return pageResponse(fakeEvents(Math.max(1, before - limit), before - 1), 1000);
		}) as unknown as typeof fetch;
		const output = fakeEvent(950, 'output', { text: 'new' });
		const store = executionStore(
			{ execution: execution({ status: 'running', lastSeq: 1000 }), events: [...fakeEvents(901, 949), output, ...fakeEvents(951, 1000)] },
			{ connection, schedule: frames.schedule, fetch: fetchOlder }
		);
		const stop = store.subscribe(() => {});
		expect(get(store).hasOlder).toBe(true);
		await Promise.all([store.loadOlder(500), store.loadOlder(500)]);
		expect(requests).toEqual(['/api/executions/run-1/events?before=901&limit=500']);
		expect(get(store).events[0]!.seq).toBe(401);
		await store.loadOlder(500);
		const view = get(store);
		expect(view.events.map((e) => e.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
		expect(view.hasOlder).toBe(false);
		expect(view.output).toBe('new');
		// The summary came from the server and is not counted again.
		expect(view.execution.lastSeq).toBe(1000);
		await store.loadOlder();
		expect(requests).toHaveLength(2);
		expect(get(store.older)).toEqual({ state: 'idle' });
		stop();
	});

	it('says when loading older events failed, and keeps what it has', async () => {
		const { connection, frames } = setup();
		const failing = (async () => new Response('{}', { status: 503 })) as unknown as typeof fetch;
		const store = executionStore(
			{ execution: execution({ status: 'running', lastSeq: 20 }), events: fakeEvents(11, 20) },
			{ connection, schedule: frames.schedule, fetch: failing }
		);
		await store.loadOlder();
		expect(get(store.older)).toMatchObject({ state: 'error' });
		expect(get(store).events).toHaveLength(10);
	});
});

describe('step spans', () => {
	it('pairs step-start and step-end, nests by parentStepId and marks failures', () => {
		const start = (seq: number, id: string, parent?: string) => {
			const event = fakeEvent(seq, 'step-start', { name: id, kind: 'tool' });
			event.stepId = id;
			if (parent) event.parentStepId = parent;
			return event;
		};
		const end = (seq: number, id: string, data: unknown = {}) => {
			const event = fakeEvent(seq, 'step-end', data);
			event.stepId = id;
			return event;
		};
		const inner = fakeEvent(3, 'log');
		inner.stepId = 'child';
		const events = [start(1, 'parent'), start(2, 'child', 'parent'), inner, end(4, 'child', { error: 'timeout' })];
		const view = initialExecutionView({ execution: execution({ status: 'running', lastSeq: 4 }), events });
		expect(view.spans.get('child')).toMatchObject({ parentId: 'parent', startSeq: 2, endSeq: 4, failed: true });
		expect(view.spans.get('parent')).toMatchObject({ startSeq: 1, failed: false });
		expect(view.spans.get('parent')?.endSeq).toBeUndefined();
		expect(stepDepth(view.spans, 'child')).toBe(1);
		expect(eventDepth(view.spans, inner)).toBe(2);
		expect(eventDepth(view.spans, events[1]!)).toBe(1);
		expect(view.typeCounts.get('step-start')).toBe(2);
	});
});

describe('executionFeedStore', () => {
	function listResponse(executions: Execution[]) {
		return new Response(JSON.stringify({ executions, nextCursor: null }), { status: 200, headers: { 'content-type': 'application/json' } });
	}

	it('adds new executions on the first page, updates and drops by filter, and re-reads the page on every subscribe', async () => {
		const { factory, connection, frames } = setup();
		const reads: string[] = [];
		let server = [execution({ id: 'a', status: 'running', lastSeq: 1, createdAt: '2025-01-01T00:00:01.000Z' })];
		const fetchList = (async (url: string) => {
			reads.push(url);
			return listResponse(server);
		}) as unknown as typeof fetch;
		const store = executionFeedStore({ executions: server, nextCursor: null }, { status: 'running', limit: 50 }, {
			connection,
			schedule: frames.schedule,
			fetch: fetchList
		});
		const stop = store.subscribe(() => {});
		const t = factory.last;
		t.open();
		expect(t.sentOf('subscribe-executions')).toHaveLength(1);
		t.receive({ type: 'executions-subscribed' });
		await vi.waitFor(() => expect(reads).toEqual(['/api/executions?status=running&limit=50']));

		const b = execution({ id: 'b', status: 'running', lastSeq: 1, createdAt: '2025-01-01T00:00:02.000Z' });
		const pendingC = execution({ id: 'c', status: 'pending', createdAt: '2025-01-01T00:00:03.000Z' });
		t.receive({ type: 'execution', execution: b });
		t.receive({ type: 'execution', execution: pendingC });
		t.receive({ type: 'execution', execution: { ...server[0]!, status: 'completed', lastSeq: 2 } });
		frames.run();
		// b is new and running; c does not match the filter; a completed and left the filter.
		expect(get(store).executions.map((e) => e.id)).toEqual(['b']);

		// After a reconnect the page is read again and merged with what the feed brought.
		server = [b, execution({ id: 'd', status: 'running', createdAt: '2025-01-01T00:00:00.000Z' })];
		t.receive({ type: 'executions-subscribed' });
		await vi.waitFor(() => expect(get(store).executions.map((e) => e.id)).toEqual(['b', 'd']));
		stop();
		expect(t.sentOf('unsubscribe-executions')).toHaveLength(1);
	});

	// Seen in CI: the list page subscribes, its page read is answered, an execution is created and
	// its summary arrives live, then the (older) read is applied: the new row must stay.
	it('an execution created while a page read is in flight stays when the older read lands', async () => {
		const { factory, connection, frames } = setup();
		const a = execution({ id: 'a', status: 'running', lastSeq: 1, createdAt: '2025-01-01T00:00:01.000Z' });
		let answer: (response: Response) => void = () => {};
		const fetchList = (() => new Promise<Response>((resolve) => (answer = resolve))) as unknown as typeof fetch;
		const store = executionFeedStore({ executions: [a], nextCursor: null }, { limit: 50 }, { connection, schedule: frames.schedule, fetch: fetchList });
		const stop = store.subscribe(() => {});
		const t = factory.last;
		t.open();
		t.receive({ type: 'executions-subscribed' }); // a page read starts (answered below, late)
		const created = execution({ id: 'new', status: 'pending', lastSeq: 0, createdAt: '2025-01-01T00:00:05.000Z' });
		t.receive({ type: 'execution', execution: created });
		frames.run();
		expect(get(store).executions.map((e) => e.id)).toEqual(['new', 'a']);
		answer(listResponse([{ ...a, lastSeq: 2 }])); // read before it was created
		await vi.waitFor(() => expect(get(store).executions.find((e) => e.id === 'a')?.lastSeq).toBe(2));
		expect(get(store).executions.map((e) => e.id)).toEqual(['new', 'a']);
		// A later read that has it changes nothing; the feed after it still applies.
		t.receive({ type: 'executions-subscribed' });
		answer(listResponse([created, { ...a, lastSeq: 2 }]));
		await vi.waitFor(() => expect(get(store).refreshError).toBeNull());
		expect(get(store).executions.map((e) => e.id)).toEqual(['new', 'a']);
		stop();
	});

	it('drops a deleted execution at once, and a page read in flight does not bring it back', async () => {
		const { factory, connection, frames } = setup();
		const a = execution({ id: 'a', status: 'running', lastSeq: 1, createdAt: '2025-01-01T00:00:01.000Z' });
		const b = execution({ id: 'b', status: 'running', lastSeq: 1, createdAt: '2025-01-01T00:00:02.000Z' });
		let answer: (response: Response) => void = () => {};
		const fetchList = (() => new Promise<Response>((resolve) => (answer = resolve))) as unknown as typeof fetch;
		const store = executionFeedStore({ executions: [b, a], nextCursor: null }, {}, { connection, schedule: frames.schedule, fetch: fetchList });
		const stop = store.subscribe(() => {});
		const t = factory.last;
		t.open();
		t.receive({ type: 'executions-subscribed' }); // a page read starts (answered below, late)
		t.receive({ type: 'execution', execution: { ...a, lastSeq: 2 } });
		t.receive({ type: 'execution-deleted', executionId: 'a' });
		expect(get(store).executions.map((e) => e.id)).toEqual(['b']);
		expect(frames.pending).toBe(0); // the queued summary of a went first, then a
		answer(listResponse([b, a])); // read before the delete
		await vi.waitFor(() => expect(get(store).refreshError).toBeNull());
		await Promise.resolve();
		expect(get(store).executions.map((e) => e.id)).toEqual(['b']);
		// Created again under the same id: it is news again.
		t.receive({ type: 'execution', execution: execution({ id: 'a', createdAt: '2025-01-01T00:00:03.000Z' }) });
		frames.run();
		expect(get(store).executions.map((e) => e.id)).toEqual(['a', 'b']);
		stop();
	});

	it('matches filters the way the server does', () => {
		const e = execution({ id: 'Run-42', agent: { name: 'triage' }, department: { name: 'Support' }, metadata: { ticket: 'ZD-9' } });
		expect(matchesFilters(e, { q: 'zd-9' })).toBe(true);
		expect(matchesFilters(e, { q: 'run-4', agent: 'triage', department: 'Support' })).toBe(true);
		expect(matchesFilters(e, { department: 'Sales' })).toBe(false);
		// The error message too, as the server's search does.
		expect(matchesFilters({ ...e, error: 'Ledger API returned 503' }, { q: 'api RETURNED' })).toBe(true);
		expect(matchesFilters(e, { q: 'api returned' })).toBe(false);
		expect(mergeExecutions([e], [{ ...e, lastSeq: 5 }], { cursor: 'x' })[0]!.lastSeq).toBe(5);
		expect(mergeExecutions([e], [execution({ id: 'new' })], { cursor: 'x' }).map((x) => x.id)).toEqual(['Run-42']);
	});
});

describe('the agent input and output in the view', () => {
	it('the first agent-start input and the last agent-complete output, also after older events are put in front', () => {
		const base = execution({ lastSeq: 4 });
		const ev = (seq: number, type: string, data?: unknown) => ({ seq, id: `e${seq}`, type, ts: '2025-01-01T00:00:01.000Z', ...(data ? { data } : {}) });
		const tail = initialExecutionView({ execution: base, events: [ev(3, 'log', { level: 'info', message: 'x' }), ev(4, 'agent-complete', { output: 'done' })] });
		expect(tail.agentInput).toBeUndefined();
		expect(tail.agentOutput).toEqual({ seq: 4, value: 'done' });
		const whole = prependView(tail, [ev(1, 'agent-start', { input: { q: 'why' } }), ev(2, 'agent-start', { input: 'again' })]);
		expect(whole.agentInput).toEqual({ seq: 1, value: { q: 'why' } });
		expect(whole.agentOutput).toEqual({ seq: 4, value: 'done' });
	});
});
