// Small, realistic agent events for the browser tests.
import type { EventInput } from './runwatch.ts';

export const QUESTION = 'Which of our services still run on Node 18?';
export const ANSWER_PARTS = ['Three services still run on Node 18: ', 'billing, search and the mailer.'];

/** agent-start, a planning LLM step with streamed output, a tool step, and (optionally) completion. */
export function researchRun({ complete = true }: { complete?: boolean } = {}): EventInput[] {
	const events: EventInput[] = [
		{ type: 'agent-start', data: { input: { question: QUESTION } } },
		{ type: 'log', data: { level: 'info', message: 'Planning with 2 tools: repo_search, read_file' } },
		{ type: 'step-start', stepId: 'search', data: { name: 'repo_search', kind: 'tool', input: { query: '"node": "18' } } },
		{ type: 'step-end', stepId: 'search', data: { output: { matches: 3 } } },
		{ type: 'step-start', stepId: 'answer', data: { name: 'answer', kind: 'llm', input: { model: 'gpt-4.1' } } },
		{ type: 'output', stepId: 'answer', data: { text: ANSWER_PARTS[0] } },
		{ type: 'output', stepId: 'answer', data: { text: ANSWER_PARTS[1] } },
		{ type: 'step-end', stepId: 'answer', data: { usage: { inputTokens: 812, outputTokens: 64, costUsd: 0.0042 } } }
	];
	if (complete) events.push({ type: 'agent-complete', data: { output: ANSWER_PARTS.join('') } });
	return events;
}

/** `n` log events, numbered from `from`: filler for bursts and reconnects. */
export function logs(n: number, from = 1, idPrefix?: string): EventInput[] {
	return Array.from({ length: n }, (_, i) => ({
		...(idPrefix ? { id: `${idPrefix}-${from + i}` } : {}),
		type: 'log',
		data: { level: 'info', message: `progress note ${from + i}` }
	}));
}
