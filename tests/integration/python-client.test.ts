/**
 * The Python client (clients/python/runwatch.py) against the real production server: the example
 * agent end to end, a server killed (SIGKILL) and restarted while a Python agent emits, and the
 * client's own unittest suite, so `npm test` runs it too.
 *
 * Needs `python3` (3.8 or newer). Without it these tests are skipped with a message saying how to
 * install it, except under CI=true, where they run and fail.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { range, readAllEvents, request } from '../helpers/api.js';
import { ROOT, TEST_TOKEN, TestServer } from '../helpers/server.js';

const CI = process.env.CI === 'true' || process.env.CI === '1';
const PYTHON = process.env.RUNWATCH_TEST_PYTHON || 'python3';
const PYTHON_MISSING = `python3 is not installed, so the Python client tests cannot run: sudo apt-get install python3`;

/** `python3 --version` when it runs, else undefined. */
function pythonVersion(): string | undefined {
	const result = spawnSync(PYTHON, ['--version'], { encoding: 'utf8' });
	if (result.error || result.status !== 0) return undefined;
	return (result.stdout || result.stderr).trim();
}

const version = pythonVersion();
if (!version && !CI) console.warn(`tests/integration/python-client.test.ts: skipped: ${PYTHON_MISSING}`);
/** Runs under CI even without python3 (and fails there, saying why); skipped elsewhere. */
const pyTest = version || CI ? test : test.skip;

function requirePython(): void {
	if (!version) throw new Error(`${CI ? 'CI=true and ' : ''}${PYTHON_MISSING}`);
}

const servers: TestServer[] = [];
const agents: ChildProcess[] = [];
afterEach(async () => {
	for (const agent of agents.splice(0)) if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
	for (const server of servers.splice(0)) await server.cleanup();
});

async function startServer(): Promise<TestServer> {
	const server = await TestServer.start();
	servers.push(server);
	return server;
}

/** A Python process with its output collected; `RUNWATCH_*` point at `server` and nothing else. */
class PythonProcess {
	readonly child: ChildProcess;
	stdout = '';
	stderr = '';
	readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

	constructor(script: string, server: TestServer, env: Record<string, string> = {}) {
		requirePython();
		const childEnv: NodeJS.ProcessEnv = { ...process.env, RUNWATCH_URL: server.url, RUNWATCH_TOKEN: TEST_TOKEN, PYTHONUNBUFFERED: '1', ...env };
		this.child = spawn(PYTHON, [script], { cwd: ROOT, env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
		agents.push(this.child);
		this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
		this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
		this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
	}

	get output(): string {
		return `stdout:\n${this.stdout}\nstderr:\n${this.stderr}`;
	}

	/** Waits until stdout matches `pattern`; returns the match. */
	async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const match = this.stdout.match(pattern);
			if (match) return match;
			if (this.child.exitCode !== null) throw new Error(`python exited (${this.child.exitCode}) before printing ${pattern}\n${this.output}`);
			if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms\n${this.output}`);
			await new Promise((r) => setTimeout(r, 20));
		}
	}

	/** The highest `emitted N` printed so far. */
	get emitted(): number {
		const all = [...this.stdout.matchAll(/^emitted (\d+)$/gm)];
		return all.length ? Number(all.at(-1)![1]) : 0;
	}

	async waitForEmitted(count: number, timeoutMs = 60_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (this.emitted < count) {
			if (this.child.exitCode !== null) throw new Error(`python exited (${this.child.exitCode})\n${this.output}`);
			if (Date.now() > deadline) throw new Error(`fewer than ${count} events emitted within ${timeoutMs} ms\n${this.output}`);
			await new Promise((r) => setTimeout(r, 20));
		}
	}
}

type Event = { seq: number; id: string; type: string; stepId?: string; parentStepId?: string; data?: any };

/** Every event once, seqs gapless from 1, ids unique. */
function expectGaplessAndUnique(events: Event[]): void {
	expect(events.map((e) => e.seq)).toEqual(range(1, events.length));
	expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
}

pyTest(
	'the example agent: every event once, in order, steps nested, usage added up, completed',
	async () => {
		requirePython();
		const server = await startServer();
		const agent = new PythonProcess(join('clients', 'python', 'example.py'), server, { EXAMPLE_DELAY: '0.05' });
		const exit = await agent.exited;
		expect(exit.code, agent.output).toBe(0);
		const id = agent.stdout.match(/^id: ([A-Za-z0-9_-]+)$/m)?.[1];
		expect(id, agent.output).toBeDefined();
		expect(agent.stdout).toContain(`Watch this run at ${server.url}/executions/${id}\n`);

		const events = (await readAllEvents(server, id!)) as Event[];
		expectGaplessAndUnique(events);
		for (const event of events) expect(event.id).toMatch(/^[0-9a-f]{32}$/);

		// Steps by name (web_search runs twice), then the whole timeline as [type, step, parent step].
		const starts = events.filter((e) => e.type === 'step-start');
		const stepName = new Map(starts.map((e) => [e.stepId!, e.data.name as string]));
		expect(stepName.size).toBe(starts.length);
		const name = (stepId?: string) => (stepId ? (stepName.get(stepId) ?? `unknown ${stepId}`) : '-');
		const timeline = events.map((e) => [e.type, name(e.stepId), name(e.parentStepId)].join(' '));
		expect(timeline).toEqual([
			'agent-start - -',
			'output - -',
			'step-start plan -',
			'log plan -',
			'usage plan -',
			'step-end plan -',
			'step-start research -',
			'step-start web_search research',
			'log web_search -',
			'step-end web_search research',
			'step-start web_search research',
			'log web_search -',
			'step-end web_search research',
			'log research -',
			'step-end research -',
			'step-start write answer -',
			'output write answer -',
			'output write answer -',
			'output write answer -',
			'step-end write answer -',
			'agent-complete - -'
		]);
		// The two searches are distinct steps, each ended once, nested under the same research step.
		const searches = starts.filter((e) => e.data.name === 'web_search');
		expect(new Set(searches.map((e) => e.stepId)).size).toBe(2);
		for (const start of starts) {
			const ends = events.filter((e) => e.type === 'step-end' && e.stepId === start.stepId);
			expect(ends).toHaveLength(1);
			expect(ends[0]!.parentStepId).toBe(start.parentStepId);
			expect(ends[0]!.data.durationMs).toBeGreaterThanOrEqual(0);
			expect(ends[0]!.seq).toBeGreaterThan(start.seq);
		}
		expect(events[0]!.data).toEqual({ input: { question: 'Which bird migrates the farthest?' } });
		expect(events.filter((e) => e.type === 'output').map((e) => e.data.text).join('')).toContain('Arctic tern');
		expect(events.at(-1)!.data.output.sources).toBe(4);

		const { execution } = (await request(server, 'GET', `/api/executions/${id}`)).body;
		expect(execution.status).toBe('completed');
		expect(execution.lastSeq).toBe(events.length);
		expect(execution.agent).toEqual({ name: 'researcher', model: 'example-llm' });
		expect(execution.department).toEqual({ name: 'Research' });
		expect(execution.metadata).toEqual({ example: 'python' });
		// 412 + 905 input, 58 + 121 output: one usage event and one step-end usage.
		expect(execution.usage.inputTokens).toBe(1317);
		expect(execution.usage.outputTokens).toBe(179);
		expect(execution.usage.costUsd).toBeCloseTo(0.00393, 10);
	},
	120_000
);

pyTest(
	'the server is SIGKILLed and restarted while a Python agent emits: nothing lost, nothing twice, in order',
	async () => {
		requirePython();
		const server = await startServer();
		const agent = new PythonProcess(join('tests', 'helpers', 'python-stream-agent.py'), server);
		const id = (await agent.waitFor(/^id: ([A-Za-z0-9_-]+)$/m))[1]!;

		// Kill it mid-stream, once some of the stream is stored.
		await agent.waitForEmitted(1000);
		const deadline = Date.now() + 60_000;
		for (let stored = 0; stored < 200; ) {
			if (Date.now() > deadline) throw new Error(`only ${stored} events stored within 60 s\n${agent.output}`);
			stored = (await request(server, 'GET', `/api/executions/${id}`)).body.execution.lastSeq;
			await new Promise((r) => setTimeout(r, 20));
		}
		const exit = await server.stop('SIGKILL');
		expect(exit.signal).toBe('SIGKILL');

		// The agent keeps going while the server is down: its calls never wait for the network.
		const whileDown = agent.emitted;
		await agent.waitForEmitted(whileDown + 750);
		await server.restart();
		const afterRestart = agent.emitted;
		await agent.waitForEmitted(afterRestart + 750);
		agent.child.stdin!.end('stop\n');

		const done = await agent.waitFor(/^done (.+)$/m, 150_000);
		expect((await agent.exited).code, agent.output).toBe(0);
		const summary = JSON.parse(done[1]!);
		expect(summary.sent, agent.output).toBe(true);
		expect(summary.stats.dropped_queue_full + summary.stats.dropped_rejected + summary.stats.dropped_unsent).toBe(0);
		expect(summary.stats.retries, 'the agent noticed the outage').toBeGreaterThan(0);
		expect(agent.stderr).toMatch(/cannot reach|answered HTTP/);

		const events = (await readAllEvents(server, id)) as Event[];
		expectGaplessAndUnique(events);
		const count = summary.count as number;
		expect(count).toBeGreaterThanOrEqual(afterRestart + 750);
		expect(events).toHaveLength(count + 4); // agent-start, step-start, outputs, step-end, agent-complete
		expect(events.map((e) => e.type).slice(0, 2)).toEqual(['agent-start', 'step-start']);
		expect(events.map((e) => e.type).slice(-2)).toEqual(['step-end', 'agent-complete']);
		const lines = events.filter((e) => e.type === 'output').map((e) => e.data.text);
		const expected = range(0, count - 1).map((i) => `line ${i}\n`);
		if (lines.join() !== expected.join()) {
			const firstWrong = lines.findIndex((line, i) => line !== expected[i]);
			throw new Error(`output differs from line ${firstWrong}: got ${JSON.stringify(lines.slice(firstWrong, firstWrong + 5))} of ${lines.length}, want ${count}`);
		}
		const stepId = events[1]!.stepId;
		expect(events.filter((e) => e.type === 'output').every((e) => e.stepId === stepId)).toBe(true);
		const { execution } = (await request(server, 'GET', `/api/executions/${id}`)).body;
		expect(execution.status).toBe('completed');
		expect(execution.lastSeq).toBe(events.length);
		console.log(
			`python client across a SIGKILL: ${count} lines, ${summary.stats.batches} batches, ${summary.stats.retries} retries, ` +
				`${summary.stats.duplicates} events the server already had (stored once)`
		);
	},
	240_000
);

pyTest(
	'the Python unit tests (python3 -m unittest clients/python/test_runwatch.py) pass',
	() => {
		requirePython();
		const result = spawnSync(PYTHON, ['-m', 'unittest', join('clients', 'python', 'test_runwatch.py')], {
			cwd: ROOT,
			encoding: 'utf8',
			timeout: 180_000,
			env: { ...process.env, RUNWATCH_URL: '', RUNWATCH_TOKEN: '' }
		});
		const output = `${result.stdout}\n${result.stderr}`;
		expect(result.error, output).toBeUndefined();
		expect(result.status, output).toBe(0);
		expect(result.stderr).toMatch(/^OK/m);
	},
	200_000
);
