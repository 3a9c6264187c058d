// The TypeScript client against a server whose ingest rate it exceeds: it waits as the 429's
// Retry-After says and loses nothing.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { range, readAllEvents } from '../helpers/api.js';
import { assertClientBuilt, CLIENT_DIST, clientEnv, runNode } from '../helpers/client.js';
import { TEST_TOKEN, TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
	assertClientBuilt();
	// 100 events/s, bursts of 200: the agent below sends 600 events at once.
	server = await TestServer.start({ env: { RUNWATCH_INGEST_RATE: '100' } });
});
afterAll(async () => {
	await server?.cleanup();
});

const CLIENT = pathToFileURL(join(CLIENT_DIST, 'index.js')).href;

const AGENT = `
import { createRunwatch } from ${JSON.stringify(CLIENT)};
const runwatch = createRunwatch({ flushIntervalMs: 10, flushTimeoutMs: 60000 });
const run = await runwatch.start({ id: process.env.EXEC_ID, agent: 'eager' });
for (let i = 0; i < 600; i++) run.log('info', 'line ' + i);
run.complete();
const started = Date.now();
await runwatch.close();
process.stdout.write(JSON.stringify({ ms: Date.now() - started, ...runwatch.stats() }) + '\\n');
`;

test('over the rate, the client is refused with 429, waits for Retry-After, and delivers every event once, in order', async () => {
	const id = `eager-${Date.now()}`;
	const result = await runNode(['--input-type=module', '-e', AGENT], { env: { ...clientEnv(server.url, TEST_TOKEN), EXEC_ID: id } });
	expect(result.code, result.stderr.toString()).toBe(0);
	const stats = JSON.parse(result.stdout.toString().trim().split('\n').at(-1)!);
	expect(stats).toMatchObject({ failed: 0, dropped: 0, queued: 0 });
	expect(stats.retries).toBeGreaterThan(0);
	// 602 events at 100/s after a burst of 200: the server made it wait about 4 s.
	expect(stats.ms).toBeGreaterThan(2_500);

	const events = (await readAllEvents(server, id)) as { seq: number; type: string; data?: { message?: string } }[];
	expect(events.map((e) => e.seq)).toEqual(range(1, 602));
	expect(events[0]!.type).toBe('agent-start');
	expect(events.slice(1, 601).map((e) => e.data?.message)).toEqual(range(0, 599).map((i) => `line ${i}`));
	expect(events.at(-1)!.type).toBe('agent-complete');
});
