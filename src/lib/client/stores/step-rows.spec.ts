import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../protocol/events.js';
import { fakeEvent } from '../testing/fake-transport.js';
import { filterRows } from '../../components/timeline.js';
import { initialExecutionView, extendView, prependView } from './execution-view.js';
import type { Execution } from '../../protocol/executions.js';
import { extendStepRows, rowSeq, stepRows } from './step-rows.js';

function ev(seq: number, type: string, stepId?: string, data: unknown = {}): StoredEvent {
	return { ...fakeEvent(seq, type, data), ...(stepId ? { stepId } : {}) };
}

const seqs = (events: readonly StoredEvent[]) => events.map((e) => e.seq);

/** agent-start, a tool step that fails (with a log inside), a step that succeeds. */
const run = [
	ev(1, 'agent-start'),
	ev(2, 'step-start', 'py', { name: 'python', kind: 'tool', input: { code: 'x' } }),
	ev(3, 'log', 'py', { level: 'info', message: 'running' }),
	ev(4, 'step-end', 'py', { error: { message: "KeyError: 'vendor_id'" } }),
	ev(5, 'step-start', 'answer', { name: 'answer', kind: 'llm' }),
	ev(6, 'step-end', 'answer', { output: 'done' }),
	ev(7, 'agent-complete')
];

describe('stepRows', () => {
	it('folds a step-end into its held step-start row', () => {
		const model = stepRows(run);
		expect(seqs(model.rows)).toEqual([1, 2, 3, 5, 7]);
		expect(model.ends.get(2)?.seq).toBe(4);
		expect(model.ends.get(5)?.seq).toBe(6);
		expect(model.open.size).toBe(0);
	});

	it('keeps a row for a step-end whose start is not held', () => {
		const model = stepRows(run.slice(3));
		expect(seqs(model.rows)).toEqual([4, 5, 7]);
		expect(model.folded.has(4)).toBe(false);
		expect(rowSeq(model, 4)).toBe(4);
	});

	it('a running step is its start row; its end folds in when it arrives live', () => {
		const first = stepRows(run.slice(0, 5));
		expect(seqs(first.rows)).toEqual([1, 2, 3, 5]);
		expect(first.open.get('answer')).toBe(5);
		const next = extendStepRows(first, run.slice(5));
		expect(seqs(next.rows)).toEqual([1, 2, 3, 5, 7]);
		expect(rowSeq(next, 6)).toBe(5);
		// The earlier model is not changed by the later batch.
		expect(first.folded.has(6)).toBe(false);
		expect(first.open.get('answer')).toBe(5);
	});

	it('a second end of one step keeps its own row; a restarted step id pairs again', () => {
		const model = stepRows([
			ev(1, 'step-start', 'a'),
			ev(2, 'step-end', 'a'),
			ev(3, 'step-end', 'a'),
			ev(4, 'step-start', 'a'),
			ev(5, 'step-end', 'a'),
			ev(6, 'step-end', 'b')
		]);
		expect(seqs(model.rows)).toEqual([1, 3, 4, 6]);
		expect(rowSeq(model, 2)).toBe(1);
		expect(rowSeq(model, 5)).toBe(4);
	});

	it('maps any seq to the row that shows it (deep links)', () => {
		const model = stepRows(run);
		expect(rowSeq(model, 4)).toBe(2);
		expect(rowSeq(model, 6)).toBe(5);
		expect(rowSeq(model, 3)).toBe(3);
		expect(rowSeq(model, 99)).toBe(99);
	});

	it('an empty batch keeps the same model; a batch without rows keeps the same rows array', () => {
		const model = stepRows(run.slice(0, 5));
		expect(extendStepRows(model, [])).toBe(model);
		expect(extendStepRows(model, [run[5]!]).rows).toBe(model.rows);
	});
});

describe('the view keeps rows', () => {
	const execution: Execution = {
		id: 'run-1',
		agent: { name: 'a' },
		metadata: {},
		createdAt: '2025-01-01T00:00:00.000Z',
		updatedAt: '2025-01-01T00:00:00.000Z',
		status: 'running',
		lastSeq: 7,
		usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 }
	};

	it('a late start (scroll-back) folds the lone end row into its step row', () => {
		const view = initialExecutionView({ execution, events: run.slice(3) });
		expect(seqs(view.rows.rows)).toEqual([4, 5, 7]);
		expect(view.hasOlder).toBe(true);
		const whole = prependView(view, run.slice(0, 3));
		expect(seqs(whole.rows.rows)).toEqual([1, 2, 3, 5, 7]);
		expect(rowSeq(whole.rows, 4)).toBe(2);
		// A page that starts inside a step leaves that step's end alone until the start comes.
		const partial = prependView(view, run.slice(2, 3));
		expect(seqs(partial.rows.rows)).toEqual([3, 4, 5, 7]);
	});

	it('live batches extend the rows', () => {
		const view = initialExecutionView({ execution: { ...execution, lastSeq: 4 }, events: run.slice(0, 4) });
		expect(seqs(view.rows.rows)).toEqual([1, 2, 3]);
		const next = extendView(view, run.slice(4));
		expect(seqs(next.rows.rows)).toEqual([1, 2, 3, 5, 7]);
	});
});

describe('filterRows', () => {
	const model = stepRows(run);

	it('without a filter, the same rows array', () => {
		expect(filterRows(model, { types: [], query: '' })).toBe(model.rows);
	});

	it('a search that matches only the step-end shows the step row', () => {
		expect(seqs(filterRows(model, { types: [], query: 'vendor_id' }))).toEqual([2]);
	});

	it('the type "step-end" shows the rows of ended steps', () => {
		expect(seqs(filterRows(model, { types: ['step-end'], query: '' }))).toEqual([2, 5]);
		const running = stepRows(run.slice(0, 5));
		expect(seqs(filterRows(running, { types: ['step-end'], query: '' }))).toEqual([2]);
	});

	it('type and text may match the start and the end of one step', () => {
		expect(seqs(filterRows(model, { types: ['step-end'], query: 'python' }))).toEqual([2]);
		expect(seqs(filterRows(model, { types: ['log'], query: 'vendor' }))).toEqual([]);
	});

	it('a lone step-end row matches by itself', () => {
		const lone = stepRows(run.slice(3));
		expect(seqs(filterRows(lone, { types: ['step-end'], query: 'keyerror' }))).toEqual([4]);
	});
});
