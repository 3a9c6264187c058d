import type { StoredEvent } from '$lib/protocol/events';
import type { StepSpan } from '$lib/client/stores/execution-view';

/*
 * What the execution page says about the agent and its steps, from the events: pure, so the
 * server render, the browser and the tests agree.
 */

function record(value: unknown): Record<string, unknown> {
	return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** A value shown as text past this many characters, or lines, is collapsed until asked for. */
export const PREVIEW_CHARS = 280;
export const PREVIEW_LINES = 4;

/** A value as the page shows it: strings as they are, anything else as indented JSON. */
export function valueText(value: unknown): string {
	if (typeof value === 'string') return value;
	if (value === undefined) return '';
	try {
		return JSON.stringify(value, null, 2) ?? String(value);
	} catch {
		return String(value);
	}
}

/** Whether `text` is long enough to collapse. */
export function isLong(text: string): boolean {
	if (text.length > PREVIEW_CHARS) return true;
	let lines = 1;
	for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) if (++lines > PREVIEW_LINES) return true;
	return false;
}

/** The agent's own fields besides its name (`model`, `version` …), as label and text. */
export function agentFacts(agent: Record<string, unknown>): { key: string; value: string }[] {
	return Object.entries(agent)
		.filter(([key, value]) => key !== 'name' && value !== undefined && value !== null && value !== '')
		.map(([key, value]) => ({ key, value: typeof value === 'string' ? value : JSON.stringify(value) }));
}

/** The execution's input: `data.input` of its first `agent-start` among `events`. */
export function agentInput(events: readonly StoredEvent[]): { seq: number; value: unknown } | undefined {
	for (const event of events) {
		if (event.type !== 'agent-start') continue;
		const data = record(event.data);
		return 'input' in data && data.input !== undefined ? { seq: event.seq, value: data.input } : undefined;
	}
	return undefined;
}

/** The execution's final output: `data.output` of its last `agent-complete` among `events`. */
export function agentOutput(events: readonly StoredEvent[]): { seq: number; value: unknown } | undefined {
	for (let i = events.length - 1; i >= 0; i--) {
		const event = events[i]!;
		if (event.type !== 'agent-complete') continue;
		const data = record(event.data);
		return 'output' in data && data.output !== undefined ? { seq: event.seq, value: data.output } : undefined;
	}
	return undefined;
}

export interface StepStory {
	state: 'running' | 'done' | 'failed' | 'unfinished';
	/** From start to end, or to `atMs` while running. Absent when the start is not held. */
	durationMs?: number;
	/** LLM steps: the model named on the start (`data.model`, `data.input.model`) or the end. */
	model?: string;
	usage?: { inputTokens?: number; outputTokens?: number; costUsd?: number };
	/** `data.input` of the step-start (a tool's arguments). */
	input?: unknown;
	/** `data.output` of the step-end (a tool's result). */
	output?: unknown;
	error?: { message: string; stack?: string };
	/** The start is older than the events held: input and duration are not known here. */
	startMissing: boolean;
}

function text(value: unknown): string | undefined {
	return typeof value === 'string' && value !== '' ? value : undefined;
}

function num(value: unknown): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Everything one step said, from its step-start and step-end (either may be absent). */
export function stepStory(span: StepSpan, start: StoredEvent | undefined, end: StoredEvent | undefined, atMs: number, ended: boolean): StepStory {
	const s = record(start?.data);
	const e = record(end?.data);
	const story: StepStory = {
		state: end ? (span.failed ? 'failed' : 'done') : ended ? 'unfinished' : 'running',
		startMissing: span.startSeq !== undefined ? start === undefined : true
	};
	const startMs = span.startTs ? Date.parse(span.startTs) : Number.NaN;
	const endMs = span.endTs ? Date.parse(span.endTs) : story.state === 'running' ? atMs : Number.NaN;
	if (Number.isFinite(startMs) && Number.isFinite(endMs)) story.durationMs = Math.max(0, endMs - startMs);
	const usage = record(e.usage);
	story.model =
		text(s.model) ?? text(record(s.input).model) ?? text(e.model) ?? text(usage.model) ?? text(record(e.output).model);
	const tokens = { inputTokens: num(usage.inputTokens), outputTokens: num(usage.outputTokens), costUsd: num(usage.costUsd) };
	if (tokens.inputTokens !== undefined || tokens.outputTokens !== undefined || tokens.costUsd !== undefined) story.usage = tokens;
	if ('input' in s && s.input !== undefined) story.input = s.input;
	if ('output' in e && e.output !== undefined) story.output = e.output;
	if (e.error !== undefined && e.error !== null) {
		const error = record(e.error);
		story.error = {
			message: typeof e.error === 'string' ? e.error : (text(error.message) ?? JSON.stringify(e.error)),
			...(typeof error.stack === 'string' ? { stack: error.stack } : {})
		};
	}
	return story;
}

/** Events are ascending by seq: a binary search, not a scan of 100,000 rows. */
export function eventBySeq(events: readonly StoredEvent[], seq: number | undefined): StoredEvent | undefined {
	if (seq === undefined) return undefined;
	let lo = 0;
	let hi = events.length - 1;
	while (lo <= hi) {
		const mid = (lo + hi) >> 1;
		const at = events[mid]!.seq;
		if (at === seq) return events[mid];
		if (at < seq) lo = mid + 1;
		else hi = mid - 1;
	}
	return undefined;
}

/**
 * The event a link points at: `#seq-123` or `?event=123` (the hash wins). Undefined when neither
 * is a positive whole number.
 */
export function linkedSeq(url: URL): number | undefined {
	const fromHash = /^#seq-(\d{1,15})$/.exec(url.hash)?.[1];
	const raw = fromHash ?? url.searchParams.get('event') ?? '';
	if (!/^\d{1,15}$/.test(raw)) return undefined;
	const seq = Number(raw);
	return seq > 0 ? seq : undefined;
}

/** The link to one event of an execution, as Copy link copies it. */
export function eventLink(url: URL, seq: number): string {
	const link = new URL(url.pathname, url.origin);
	link.hash = `seq-${seq}`;
	return link.href;
}
