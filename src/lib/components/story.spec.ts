import { describe, expect, test } from 'vitest';
import type { StoredEvent } from '$lib/protocol/events';
import type { StepSpan } from '$lib/client/stores/execution-view';
import { agentFacts, agentInput, agentOutput, eventBySeq, eventLink, isLong, linkedSeq, stepStory, valueText } from './story';

const ts = (s: number) => new Date(Date.UTC(2026, 11, 2, 8, 0, s)).toISOString();
const ev = (seq: number, type: string, data?: unknown, stepId?: string): StoredEvent => ({ seq, id: `e${seq}`, type, ts: ts(seq), ...(stepId ? { stepId } : {}), ...(data === undefined ? {} : { data }) });

describe('the agent', () => {
	test('agent fields besides the name', () => {
		expect(agentFacts({ name: 'a', model: 'gpt-4.1', version: 3, empty: '', tags: ['x'] })).toEqual([
			{ key: 'model', value: 'gpt-4.1' },
			{ key: 'version', value: '3' },
			{ key: 'tags', value: '["x"]' }
		]);
	});

	test('input from the first agent-start, output from the last agent-complete', () => {
		const events = [ev(1, 'agent-start', { input: { question: 'why?' } }), ev(2, 'output', { text: 'x' }), ev(3, 'agent-complete', { output: 'because' })];
		expect(agentInput(events)).toEqual({ seq: 1, value: { question: 'why?' } });
		expect(agentOutput(events)).toEqual({ seq: 3, value: 'because' });
		expect(agentInput([ev(1, 'agent-start')])).toBeUndefined();
		expect(agentOutput([ev(1, 'agent-complete', {})])).toBeUndefined();
	});

	test('values as text; long ones collapse', () => {
		expect(valueText('plain')).toBe('plain');
		expect(valueText({ a: 1 })).toBe('{\n  "a": 1\n}');
		expect(isLong('short')).toBe(false);
		expect(isLong('x'.repeat(281))).toBe(true);
		expect(isLong('1\n2\n3\n4')).toBe(false);
		expect(isLong('1\n2\n3\n4\n5')).toBe(true);
	});
});

describe('a step', () => {
	const span = (over: Partial<StepSpan> = {}): StepSpan => ({ id: 's', name: 'n', kind: 'llm', startSeq: 1, startTs: ts(1), endSeq: 4, endTs: ts(4), failed: false, ...over });

	test('an LLM step: model, tokens, duration, input and output', () => {
		const start = ev(1, 'step-start', { name: 'n', kind: 'llm', input: { model: 'gpt-4.1', messages: 2 } }, 's');
		const end = ev(4, 'step-end', { output: { steps: 3 }, usage: { inputTokens: 812, outputTokens: 64, costUsd: 0.0021 } }, 's');
		expect(stepStory(span(), start, end, 0, true)).toEqual({
			state: 'done',
			durationMs: 3000,
			model: 'gpt-4.1',
			usage: { inputTokens: 812, outputTokens: 64, costUsd: 0.0021 },
			input: { model: 'gpt-4.1', messages: 2 },
			output: { steps: 3 },
			startMissing: false
		});
	});

	test('a failed tool step: its arguments and error', () => {
		const start = ev(1, 'step-start', { name: 'python', kind: 'tool', input: { code: 'x()' } }, 's');
		const end = ev(4, 'step-end', { error: { message: 'KeyError', stack: 'at x' } }, 's');
		const story = stepStory(span({ kind: 'tool', failed: true }), start, end, 0, true);
		expect(story).toMatchObject({ state: 'failed', input: { code: 'x()' }, error: { message: 'KeyError', stack: 'at x' } });
		expect(story.model).toBeUndefined();
		expect(stepStory(span({ failed: true }), start, ev(4, 'step-end', { error: 'boom' }, 's'), 0, true).error).toEqual({ message: 'boom' });
	});

	test('running: measured to now; never ended: unfinished; start not held: said so', () => {
		const start = ev(1, 'step-start', { name: 'n', kind: 'tool' }, 's');
		const running = span({ endSeq: undefined, endTs: undefined });
		expect(stepStory(running, start, undefined, Date.parse(ts(1)) + 11_100, false)).toMatchObject({ state: 'running', durationMs: 11_100 });
		expect(stepStory(running, start, undefined, 0, true)).toMatchObject({ state: 'unfinished' });
		expect(stepStory(running, start, undefined, 0, true).durationMs).toBeUndefined();
		const late = stepStory(span({ startSeq: undefined, startTs: undefined }), undefined, ev(4, 'step-end', {}, 's'), 0, true);
		expect(late).toMatchObject({ state: 'done', startMissing: true });
		expect(late.durationMs).toBeUndefined();
	});
});

describe('links to one event', () => {
	test('#seq-N or ?event=N; anything else is none', () => {
		expect(linkedSeq(new URL('http://h/executions/x#seq-123'))).toBe(123);
		expect(linkedSeq(new URL('http://h/executions/x?event=7'))).toBe(7);
		expect(linkedSeq(new URL('http://h/executions/x?event=7#seq-9'))).toBe(9);
		for (const bad of ['#seq-0', '#seq-x', '?event=-1', '?event=1e3', '#other', '']) {
			expect(linkedSeq(new URL(`http://h/executions/x${bad}`))).toBeUndefined();
		}
	});

	test('the copied link: path and #seq-N, without other query or hash', () => {
		expect(eventLink(new URL('http://h:5/executions/x?event=3#seq-4'), 12)).toBe('http://h:5/executions/x#seq-12');
	});

	test('eventBySeq: a binary search', () => {
		const events = [ev(3, 'a'), ev(4, 'a'), ev(9, 'a')];
		expect(eventBySeq(events, 9)?.seq).toBe(9);
		expect(eventBySeq(events, 5)).toBeUndefined();
		expect(eventBySeq(events, undefined)).toBeUndefined();
	});
});
