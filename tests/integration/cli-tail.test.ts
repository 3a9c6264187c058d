import { afterAll, beforeAll, expect, test } from 'vitest';
import { createExecution, postEvents } from '../helpers/api.js';
import { assertClientBuilt, CLI, clientEnv, runNode, startNode } from '../helpers/client.js';
import { TEST_TOKEN, TestServer } from '../helpers/server.js';

// `runwatch tail` follows an execution over the real server's SSE stream.

let server: TestServer;
beforeAll(async () => {
	assertClientBuilt();
	server = await TestServer.start();
});
afterAll(async () => {
	await server?.cleanup();
});

const ENV = () => clientEnv(server.url, TEST_TOKEN);
const output = (id: string, text: string) => ({ id, type: 'output', data: { text, stream: 'stdout' } });

test('prints output as it comes and a line per other event; exits 0 when the execution completes', async () => {
	const id = await createExecution(server);
	await postEvents(server, id, [
		{ id: 'start', type: 'agent-start' },
		output('o1', '\x1b[36mcolour\x1b[0m kept\n'),
		{ id: 's1', type: 'step-start', stepId: 'st1', data: { name: 'search', kind: 'tool' } },
		{ id: 'l1', type: 'log', data: { level: 'warn', message: 'slow answer' } }
	]);
	const tail = startNode([CLI, 'tail', `${server.url}/executions/${id}`], { env: { RUNWATCH_TOKEN: TEST_TOKEN } });
	await tail.waitFor('stderr', /\[warn\] slow answer\n/);
	await postEvents(server, id, [
		output('o2', 'partial '),
		output('o3', 'line\n'),
		{ id: 'e1', type: 'step-end', stepId: 'st1', data: { durationMs: 1500 } },
		{ id: 'u1', type: 'usage', data: { inputTokens: 12, outputTokens: 3, costUsd: 0.002 } },
		{ id: 'done', type: 'agent-complete' },
		output('late', 'after the end\n')
	]);
	const result = await tail.finished;
	expect(result.code).toBe(0);
	expect(result.stdout.toString()).toBe('\x1b[36mcolour\x1b[0m kept\npartial line\n');
	expect(result.stderr.toString()).toBe(['▶ started', '┌ search (tool)', '[warn] slow answer', '└ search 1.5 s', 'usage: 12 in, 3 out, $0.0020', '✔ completed', ''].join('\n'));
});

test('exits 1 for a failed execution and 130 for a cancelled one (also when they ended before tail started); 2 for an unknown one', async () => {
	const failed = await createExecution(server);
	await postEvents(server, failed, [output('o', 'x\n'), { id: 'err', type: 'error', data: { message: 'boom' } }]);
	const one = await runNode([CLI, 'tail', failed], { env: ENV() });
	expect(one.code).toBe(1);
	expect(one.stderr.toString()).toContain('✖ failed: boom');

	const cancelled = await createExecution(server);
	await postEvents(server, cancelled, { id: 'c', type: 'cancelled', data: { reason: 'user' } });
	const two = await runNode([CLI, 'tail', cancelled], { env: ENV() });
	expect(two.code).toBe(130);
	expect(two.stderr.toString()).toContain('■ cancelled: user');

	const unknown = await runNode([CLI, 'tail', 'no-such-execution'], { env: ENV() });
	expect(unknown.code).toBe(2);
	expect(unknown.stderr.toString()).toContain('no execution "no-such-execution"');
});

test('resumes after a server restart from the last seq it printed: nothing twice, nothing missed', async () => {
	const id = await createExecution(server);
	const lines = Array.from({ length: 40 }, (_, i) => `line ${i}\n`);
	await postEvents(server, id, lines.slice(0, 20).map((text, i) => output(`a${i}`, text)));
	const tail = startNode([CLI, 'tail', id], { env: ENV() });
	await tail.waitFor('stdout', /line 19\n/);

	await server.stop('SIGTERM');
	await server.restart();
	await postEvents(server, id, lines.slice(20).map((text, i) => output(`b${i}`, text)));
	await tail.waitFor('stdout', /line 39\n/);
	await postEvents(server, id, { id: 'end', type: 'agent-complete' });
	const result = await tail.finished;
	expect(result.code).toBe(0);
	expect(result.stdout.toString()).toBe(lines.join(''));
	expect(result.stderr.toString()).toMatch(/reconnecting/);
});
