import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readAllEvents, request } from '../helpers/api.js';
import { assertClientBuilt, CLIENT_DIST, clientEnv, startNode } from '../helpers/client.js';
import { TEST_TOKEN, TestServer } from '../helpers/server.js';

// A cancel request reaches an agent that sends nothing, through the client's long-poll.

let server: TestServer;
beforeAll(async () => {
	assertClientBuilt();
	server = await TestServer.start();
});
afterAll(async () => {
	await server?.cleanup();
});

const CLIENT = pathToFileURL(join(CLIENT_DIST, 'index.js')).href;

/** Starts, says "ready", then sends nothing until its signal aborts; records `cancelled` and reports what it saw. */
const IDLE_AGENT = `
import { createRunwatch } from ${JSON.stringify(CLIENT)};
const runwatch = createRunwatch();
const run = await runwatch.start({ id: process.env.EXEC_ID, agent: 'idle' });
let callbackReason;
run.onCancel((reason) => (callbackReason = reason));
await run.flush();
process.stdout.write('ready\\n');
// Stands for the agent's own work: the cancel watch itself never keeps a process alive.
const work = setInterval(() => {}, 1000);
await new Promise((resolve) => run.signal.addEventListener('abort', resolve));
clearInterval(work);
const at = Date.now();
run.cancelled();
await runwatch.close();
process.stdout.write(JSON.stringify({ at, reason: run.signal.reason, callbackReason, cancelRequested: run.cancelRequested, cancelReason: run.cancelReason }) + '\\n');
`;

test('a cancel reaches a client that sends nothing, long after its last event; it records cancelled', async () => {
	const id = `idle-${Date.now()}`;
	const agent = startNode(['--input-type=module', '-e', IDLE_AGENT], { env: { ...clientEnv(server.url, TEST_TOKEN), EXEC_ID: id } });
	await agent.waitFor('stdout', /ready\n/);
	// Quiet for a while: the long-poll is parked on the server, nothing else is going on.
	await new Promise((resolve) => setTimeout(resolve, 2500));
	const asked = Date.now();
	const cancel = await request(server, 'POST', `/api/executions/${id}/cancel`, { body: { reason: 'budget exceeded' } });
	expect(cancel.status).toBe(202);
	const line = await agent.waitFor('stdout', /^(\{.*\})\n/m);
	const seen = JSON.parse(line[1]!);
	expect(seen).toEqual({ at: expect.any(Number), reason: 'budget exceeded', callbackReason: 'budget exceeded', cancelRequested: true, cancelReason: 'budget exceeded' });
	const latency = seen.at - asked;
	console.log(`cancel reached the idle agent ${latency} ms after the request`);
	// The poll waits 20 s: without the server waking it the agent would hear nothing for ~17 s more.
	expect(latency).toBeLessThan(10_000);
	expect((await agent.finished).code).toBe(0);

	const events = (await readAllEvents(server, id)) as any[];
	expect(events.map((e) => e.type)).toEqual(['agent-start', 'cancel-requested', 'cancelled']);
	expect(events.at(-1).data).toEqual({ reason: 'budget exceeded' });
	const { body } = await request(server, 'GET', `/api/executions/${id}`);
	expect(body.execution.status).toBe('cancelled');
});

test('the parked long-poll does not keep a finished script alive', async () => {
	const script = `
import { createRunwatch } from ${JSON.stringify(CLIENT)};
const run = await createRunwatch().start({ agent: 'short' });
run.output('done\\n');
// no complete(), no close(): only the parked long-poll remains, and it must not hold the process
`;
	const started = Date.now();
	const agent = startNode(['--input-type=module', '-e', script], { env: clientEnv(server.url, TEST_TOKEN) });
	agent.child.stdin!.end();
	const result = await agent.finished;
	expect(result.code, result.stderr.toString()).toBe(0);
	expect(Date.now() - started).toBeLessThan(15_000); // a held poll would take 20 s
});
