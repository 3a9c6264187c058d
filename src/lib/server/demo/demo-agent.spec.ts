import { describe, expect, it } from 'vitest';
import { eventInputSchema } from '../../protocol/events.js';
import { createExecutionSchema } from '../../protocol/executions.js';
import { DEMO_SECONDS, demoScripts, demoSpeed, startDemoAgent } from './demo-agent.js';
import { demoTarget } from './demo-target.js';

type Sent = { url: string; body: Record<string, unknown> };

/** A fetch that records every POST and answers like the ingest API. */
function recordingFetch(sent: Sent[]): typeof fetch {
	return (async (input: string | URL | Request, init?: RequestInit) => {
		const url = String(input);
		const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
		sent.push({ url, body });
		const answer = url.endsWith('/api/executions') ? { id: body.id, url: `http://demo.test/executions/${String(body.id)}` } : { seq: sent.length };
		return new Response(JSON.stringify(answer), { status: 201, headers: { 'content-type': 'application/json' } });
	}) as typeof fetch;
}

/** Every string anywhere in `value`. */
function strings(value: unknown, out: string[] = []): string[] {
	if (typeof value === 'string') out.push(value);
	else if (Array.isArray(value)) for (const item of value) strings(item, out);
	else if (value && typeof value === 'object') for (const item of Object.values(value)) strings(item, out);
	return out;
}

describe('the demo agent', () => {
	it('plays each execution for about a minute at speed 1, and RUNWATCH_DEMO_SPEED scales it', async () => {
		for (const { beats } of demoScripts()) {
			const total = beats.reduce((sum, beat) => sum + beat.pause, 0);
			expect(total).toBeGreaterThanOrEqual((DEMO_SECONDS - 5) * 1000);
			expect(total).toBeLessThanOrEqual((DEMO_SECONDS + 5) * 1000);
		}
		const slept: number[] = [];
		const { done } = await startDemoAgent({
			baseUrl: 'http://demo.test',
			token: 't',
			fetch: recordingFetch([]),
			speed: 4,
			sleep: async (ms) => void slept.push(ms)
		});
		await done;
		const perScript = slept.reduce((a, b) => a + b, 0) / 2;
		expect(perScript).toBeGreaterThan(((DEMO_SECONDS - 5) * 1000) / 4);
		expect(perScript).toBeLessThan(((DEMO_SECONDS + 5) * 1000) / 4);
		expect(demoSpeed({})).toBe(1);
		expect(demoSpeed({ RUNWATCH_DEMO_SPEED: '20' })).toBe(20);
		expect(() => demoSpeed({ RUNWATCH_DEMO_SPEED: '0' })).toThrow(/RUNWATCH_DEMO_SPEED/);
		expect(() => demoSpeed({ RUNWATCH_DEMO_SPEED: 'fast' })).toThrow(/RUNWATCH_DEMO_SPEED/);
	});

	it('sends valid executions and events through the API, and each execution ends: one completes, one fails', async () => {
		const sent: Sent[] = [];
		const { executionIds, urls, done } = await startDemoAgent({
			baseUrl: 'http://demo.test/',
			token: 'secret-token',
			fetch: recordingFetch(sent),
			sleep: async () => {}
		});
		await done;
		expect(executionIds).toHaveLength(2);
		expect(urls).toEqual(executionIds.map((id) => `http://demo.test/executions/${id}`));
		const creates = sent.filter((s) => s.url === 'http://demo.test/api/executions');
		expect(creates).toHaveLength(2);
		for (const create of creates) expect(createExecutionSchema.safeParse(create.body).success).toBe(true);

		const endings: string[] = [];
		for (const id of executionIds) {
			const events = sent.filter((s) => s.url === `http://demo.test/api/executions/${id}/events`).map((s) => s.body);
			for (const event of events) expect(eventInputSchema.safeParse(event).error).toBeUndefined();
			expect(events[0]?.type).toBe('agent-start');
			const types = events.map((e) => e.type);
			// Exactly one ending, and it comes last.
			const terminal = types.filter((t) => t === 'agent-complete' || t === 'error' || t === 'cancelled');
			expect(terminal).toHaveLength(1);
			expect(types.at(-1)).toBe(terminal[0]);
			endings.push(String(terminal[0]));
			// Every step that starts also ends.
			const started = events.filter((e) => e.type === 'step-start').map((e) => e.stepId);
			const ended = events.filter((e) => e.type === 'step-end').map((e) => e.stepId);
			expect(ended.sort()).toEqual(started.sort());
		}
		expect(endings).toEqual(['agent-complete', 'error']);
	});

	it('gives each agent its own story: no shared text, tools, models or metadata', () => {
		const [research, invoices] = demoScripts();
		if (!research || !invoices) throw new Error('two demo scripts expected');
		const tools = (beats: typeof research.beats) =>
			new Set(beats.filter((b) => b.event.type === 'step-start').map((b) => String((b.event.data as { name: string }).name)));
		const researchTools = tools(research.beats);
		const invoiceTools = tools(invoices.beats);
		expect(researchTools.size).toBeGreaterThanOrEqual(3);
		expect(invoiceTools.size).toBeGreaterThanOrEqual(3);
		expect([...researchTools].filter((t) => invoiceTools.has(t))).toEqual([]);

		expect(research.execution.agent.model).not.toBe(invoices.execution.agent.model);
		expect(research.execution.agent.name).not.toBe(invoices.execution.agent.name);
		const researchMeta = Object.entries(research.execution.metadata).filter(([key]) => key !== 'source');
		const invoiceMeta = Object.entries(invoices.execution.metadata).filter(([key]) => key !== 'source');
		expect(researchMeta.length).toBeGreaterThan(0);
		expect(invoiceMeta.length).toBeGreaterThan(0);
		expect(researchMeta.filter(([key]) => key in invoices.execution.metadata)).toEqual([]);

		// Text a person reads (inputs, outputs, logs, errors): nothing longer than a word in common.
		const texts = (beats: typeof research.beats) => new Set(beats.flatMap((b) => strings(b.event.data)).filter((s) => s.length > 12));
		const researchTexts = texts(research.beats);
		expect([...texts(invoices.beats)].filter((t) => researchTexts.has(t))).toEqual([]);
		// The models named in the LLM steps are the agent's own.
		for (const script of [research, invoices]) {
			const models = script.beats
				.filter((b) => b.event.type === 'step-start' && (b.event.data as { kind: string }).kind === 'llm')
				.map((b) => (b.event.data as { input: { model: string } }).input.model);
			expect(models.length).toBeGreaterThan(0);
			expect(new Set(models)).toEqual(new Set([script.execution.agent.model]));
		}
	});
});

describe('where npm run demo sends', () => {
	const noFile = (): string => {
		throw new Error('ENOENT');
	};

	it('follows RUNWATCH_URL, else HOST and PORT like the server, default http://127.0.0.1:3000', () => {
		const env = { RUNWATCH_INGEST_TOKEN: 'token-from-env-0123' };
		expect(demoTarget(env, noFile)).toEqual({ baseUrl: 'http://127.0.0.1:3000', token: 'token-from-env-0123', tokenFrom: 'RUNWATCH_INGEST_TOKEN' });
		expect(demoTarget({ ...env, PORT: '4123' }, noFile)).toMatchObject({ baseUrl: 'http://127.0.0.1:4123' });
		expect(demoTarget({ ...env, PORT: '4123', HOST: '0.0.0.0' }, noFile)).toMatchObject({ baseUrl: 'http://127.0.0.1:4123' });
		expect(demoTarget({ ...env, PORT: '4123', HOST: '::1' }, noFile)).toMatchObject({ baseUrl: 'http://[::1]:4123' });
		expect(demoTarget({ ...env, PORT: '4123', RUNWATCH_URL: 'https://runwatch.example/' }, noFile)).toMatchObject({
			baseUrl: 'https://runwatch.example'
		});
	});

	it('reads the token from the data directory the server uses, and says what to do without one', () => {
		const files: Record<string, string> = { '/srv/runwatch-data/ingest-token': 'rw_stored_token\n' };
		const read = (file: string): string => {
			const content = files[file];
			if (content === undefined) throw new Error('ENOENT');
			return content;
		};
		expect(demoTarget({ RUNWATCH_DATA_DIR: '/srv/runwatch-data' }, read)).toEqual({
			baseUrl: 'http://127.0.0.1:3000',
			token: 'rw_stored_token',
			tokenFrom: '/srv/runwatch-data/ingest-token'
		});
		const missing = demoTarget({ RUNWATCH_DATA_DIR: '/nowhere' }, read);
		expect(missing).toMatchObject({ error: expect.stringContaining('/nowhere/ingest-token') });
	});
});
