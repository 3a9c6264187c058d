import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readAllEvents, request } from '../helpers/api.js';
import { clientEnv, installPackedClient, runNode, startNode } from '../helpers/client.js';
import { freePort, TEST_TOKEN, TestServer } from '../helpers/server.js';

// The client as an agent project gets it: `npm pack` of packages/client, installed from the
// tarball, imported by name, talking to the real server.

let project: string;
const servers: TestServer[] = [];

beforeAll(() => {
	project = installPackedClient();
	writeFileSync(join(project, 'agent.mjs'), AGENT);
	writeFileSync(join(project, 'offline-agent.mjs'), OFFLINE_AGENT);
	writeFileSync(join(project, 'exit-agent.mjs'), EXIT_AGENT);
	writeFileSync(join(project, 'busy-agent.mjs'), BUSY_AGENT);
});
afterAll(async () => {
	for (const server of servers) await server.cleanup();
	if (project) rmSync(project, { recursive: true, force: true });
});

/**
 * Runs rounds of nested steps — two concurrent children per round, each with output and a
 * leaf step — until it reads "finish" on stdin; then completes and closes. Prints "round N"
 * after each round and its stats at the end.
 */
const AGENT = `
import { createRunwatch } from '@runwatch/client';
const runwatch = createRunwatch({ flushIntervalMs: 20, maxRetryDelayMs: 500, flushTimeoutMs: 60000, onError: (e) => process.stderr.write('onError ' + e.code + '\\n') });
const run = await runwatch.start({ id: process.env.EXEC_ID, agent: { name: 'pack-test', model: 'm1' }, input: { goal: 'nest' } });
let finish = false;
process.stdin.on('data', (d) => { if (String(d).includes('finish')) finish = true; });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let rounds = 0;
await run.step('main', async () => {
	while (!finish) {
		const i = rounds++;
		await run.step('round-' + i, async () => {
			await Promise.all(['a', 'b'].map((side) =>
				run.step(side + '-' + i, async () => {
					await sleep(Math.random() * 20);
					run.output(side + '-' + i + '\\n', { stream: 'stdout' });
					await run.step(side + '-' + i + '-leaf', async () => { await sleep(Math.random() * 10); return { side, i }; }, { kind: 'tool' });
					return side;
				}, { kind: 'llm' })
			));
		});
		process.stdout.write('round ' + rounds + '\\n');
		await sleep(30);
	}
}, { kind: 'agent' });
run.usage({ inputTokens: 10, outputTokens: 20, costUsd: 0.5 });
run.complete({ rounds });
await runwatch.close({ timeoutMs: 60000 });
process.stdout.write('stats ' + JSON.stringify({ rounds, ...runwatch.stats() }) + '\\n');
`;

/** Sends to a server that is not there: must end quickly, counting what it could not send. */
const OFFLINE_AGENT = `
import { createRunwatch } from '@runwatch/client';
const codes = [];
const closeExplicitly = process.argv[2] === 'close';
const runwatch = createRunwatch({ startTimeoutMs: 300, flushTimeoutMs: 1000, requestTimeoutMs: 2000, ...(closeExplicitly ? { onError: (e) => codes.push(e.code) } : {}) });
const run = await runwatch.start({ agent: 'offline' });
await run.step('work', async () => { run.output('hello\\n'); run.log('info', 'working'); return 42; });
run.complete();
if (closeExplicitly) {
	await runwatch.close();
	process.stdout.write(JSON.stringify({ url: run.url, codes, stats: runwatch.stats() }) + '\\n');
} else {
	process.stdout.write(JSON.stringify({ url: run.url }) + '\\n');
	// no close(): the beforeExit flush must give up within flushTimeoutMs
}
`;

/** 2,000 events, complete, then `process.exit(0)` at once (or fail, then crash): no close(), no await. */
const EXIT_AGENT = `
import { createRunwatch } from '@runwatch/client';
const runwatch = createRunwatch({ flushTimeoutMs: 30000 });
const run = runwatch.open({ id: process.env.EXEC_ID, agent: 'exit-agent' });
for (let i = 0; i < 2000; i++) run.output('line ' + i + '\\n');
if (process.argv[2] === 'crash') {
	run.fail(new Error('about to crash'));
	throw new Error('crash');
}
run.complete({ lines: 2000 });
if (process.argv[2] === 'close-exit') runwatch.close(); // not awaited
process.exit(0);
`;

/** One event, then the agent's thread computes without yielding until told the event is stored (or 20 s). */
const BUSY_AGENT = `
import { createRunwatch } from '@runwatch/client';
import { existsSync, writeSync } from 'node:fs';
const runwatch = createRunwatch();
const run = await runwatch.start({ id: process.env.EXEC_ID, agent: 'busy-agent' });
run.output('before the long computation\\n');
writeSync(1, 'computing\\n');
const started = Date.now();
while (!existsSync(process.env.SEEN_FILE) && Date.now() - started < 20000) {}
writeSync(1, 'computed ' + (Date.now() - started) + '\\n');
run.complete();
await runwatch.close();
`;

test('installed from its tarball: types, bin and both entry points are there', () => {
	const pkg = join(project, 'node_modules', '@runwatch', 'client');
	for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/otel.js', 'dist/otel.d.ts', 'dist/cli.cjs', 'README.md', 'package.json']) {
		expect(existsSync(join(pkg, file)), file).toBe(true);
	}
	expect(existsSync(join(pkg, 'dist', 'sse.spec.js'))).toBe(false);
	expect(existsSync(join(project, 'node_modules', '.bin', 'runwatch'))).toBe(true);
});

test('nested concurrent steps across a server kill and restart: every event once, in order, nested right, completed', async () => {
	const server = await TestServer.start();
	servers.push(server);
	const id = `pack-${Date.now()}`;
	const agent = startNode(['agent.mjs'], { cwd: project, env: { ...clientEnv(server.url, TEST_TOKEN), EXEC_ID: id } });

	await agent.waitFor('stdout', /round 5\n/);
	await server.stop('SIGKILL');
	const before = Number(agent.stdout().toString().match(/round (\d+)\n(?!.*round)/s)?.[1]);
	// the agent keeps running while the server is down; its events wait in memory
	await agent.waitFor('stdout', new RegExp(`round ${before + 5}\\n`));
	await server.restart();
	const afterRestart = Number(agent.stdout().toString().match(/round (\d+)\n(?!.*round)/s)?.[1]);
	await agent.waitFor('stdout', new RegExp(`round ${afterRestart + 5}\\n`));
	agent.child.stdin!.end('finish\n');
	const result = await agent.finished;
	expect(result.code, result.stderr.toString()).toBe(0);
	const stats = JSON.parse(result.stdout.toString().match(/^stats (.*)$/m)![1]!);
	expect(stats).toMatchObject({ dropped: 0, failed: 0, queued: 0 });
	expect(stats.retries).toBeGreaterThan(0);
	expect(result.stderr.toString()).toContain('onError unreachable');

	const events = (await readAllEvents(server, id)) as any[];
	const rounds: number = stats.rounds;
	// agent-start, main start/end, per round 2 + 2×(start, output, leaf start, leaf end, end), usage, complete
	expect(events).toHaveLength(1 + 2 + rounds * 12 + 2);
	expect(stats.sent).toBe(events.length);
	// exactly once and in the order the agent called: the client's event counter follows seq
	expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
	const counters = events.map((e) => parseInt(e.id.split('-').at(-1), 36));
	expect(counters).toEqual(events.map((_, i) => i));
	expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

	const starts = new Map(events.filter((e) => e.type === 'step-start').map((e) => [e.data.name as string, e]));
	expect(starts.size).toBe(1 + rounds * 5);
	const main = starts.get('main')!;
	expect(main.parentStepId).toBeUndefined();
	expect(main.data.kind).toBe('agent');
	for (let i = 0; i < rounds; i++) {
		const round = starts.get(`round-${i}`)!;
		expect(round.parentStepId).toBe(main.stepId);
		for (const side of ['a', 'b']) {
			const child = starts.get(`${side}-${i}`)!;
			expect(child.parentStepId).toBe(round.stepId);
			expect(child.data.kind).toBe('llm');
			expect(starts.get(`${side}-${i}-leaf`)!.parentStepId).toBe(child.stepId);
			const output = events.find((e) => e.type === 'output' && e.data.text === `${side}-${i}\n`);
			expect(output.stepId).toBe(child.stepId);
			const end = events.find((e) => e.type === 'step-end' && e.stepId === child.stepId);
			expect(end.data).toMatchObject({ output: side, durationMs: expect.any(Number) });
			expect(end.seq).toBeGreaterThan(events.find((e) => e.type === 'step-end' && e.stepId === starts.get(`${side}-${i}-leaf`)!.stepId).seq);
		}
	}
	const { body } = await request(server, 'GET', `/api/executions/${id}`);
	expect(body.execution).toMatchObject({ status: 'completed', agent: { name: 'pack-test', model: 'm1' }, usage: { inputTokens: 10, outputTokens: 20, costUsd: 0.5 } });
	expect(events[0]).toMatchObject({ type: 'agent-start', data: { input: { goal: 'nest' } } });
	expect(events.at(-1)).toMatchObject({ type: 'agent-complete', data: { output: { rounds } } });
});

test('no server: the agent finishes at once with close(), counts what it could not send, never throws', async () => {
	const port = await freePort();
	const result = await runNode(['offline-agent.mjs', 'close'], { cwd: project, env: clientEnv(`http://127.0.0.1:${port}`, TEST_TOKEN) });
	expect(result.code, result.stderr.toString()).toBe(0);
	const { url, codes, stats } = JSON.parse(result.stdout.toString());
	expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/executions/[A-Za-z0-9_-]{22}$`));
	// agent-start, step-start, output, log, step-end, agent-complete: all given up
	expect(stats).toMatchObject({ sent: 0, dropped: 6, failed: 0, queued: 0 });
	expect(stats.retries).toBeGreaterThan(0);
	expect(codes).toContain('unreachable');
	expect(codes).toContain('abandoned');
});

test('no server and no close(): the flush on exit gives up in bounded time and says so once on stderr', async () => {
	const port = await freePort();
	const started = Date.now();
	const result = await runNode(['offline-agent.mjs'], { cwd: project, env: clientEnv(`http://127.0.0.1:${port}`, TEST_TOKEN) });
	expect(result.code, result.stderr.toString()).toBe(0);
	const stderr = result.stderr.toString();
	expect(stderr.match(/^runwatch: cannot deliver to/gm)).toHaveLength(1);
	expect(stderr).toMatch(/runwatch: gave up on 6 events/);
	// flushTimeoutMs is 1 s; a hang would be the 20 s cancel poll or retries forever
	expect(Date.now() - started).toBeLessThan(15_000);
});

test('process.exit() right after complete() (also after a close() not awaited), or a crash right after fail(): the delivery thread still sends everything', async () => {
	const server = await TestServer.start();
	servers.push(server);
	for (const [mode, code, status, last] of [
		['exit', 0, 'completed', 'agent-complete'],
		['close-exit', 0, 'completed', 'agent-complete'],
		['crash', 1, 'failed', 'error']
	] as const) {
		const id = `${mode}-${Date.now()}`;
		const result = await runNode(['exit-agent.mjs', mode], { cwd: project, env: { ...clientEnv(server.url, TEST_TOKEN), EXEC_ID: id } });
		expect(result.code, result.stderr.toString()).toBe(code);
		const events = await readAllEvents(server, id);
		expect(events).toHaveLength(2002);
		expect(events.at(-1)).toMatchObject({ type: last });
		const { body } = await request(server, 'GET', `/api/executions/${id}`);
		expect(body.execution.status).toBe(status);
	}
});

test("events go out while the agent's thread computes without yielding", async () => {
	const server = await TestServer.start();
	servers.push(server);
	const id = `busy-${Date.now()}`;
	const seenFile = join(project, `seen-${id}`);
	const agent = startNode(['busy-agent.mjs'], { cwd: project, env: { ...clientEnv(server.url, TEST_TOKEN), EXEC_ID: id, SEEN_FILE: seenFile } });
	await agent.waitFor('stdout', /computing\n/);
	// The agent's thread is busy for up to 20 s: the event must reach the server meanwhile.
	let outputs = 0;
	for (const deadline = Date.now() + 15_000; outputs === 0 && Date.now() < deadline; ) {
		outputs = (await readAllEvents(server, id)).filter((e) => e.type === 'output').length;
		if (outputs === 0) await new Promise((resolve) => setTimeout(resolve, 100));
	}
	expect(agent.stdout().toString()).not.toMatch(/computed/);
	expect(outputs).toBe(1);
	writeFileSync(seenFile, '');
	const result = await agent.finished;
	expect(result.code, result.stderr.toString()).toBe(0);
	expect((await readAllEvents(server, id)).at(-1)).toMatchObject({ type: 'agent-complete' });
});
