import { afterAll, beforeAll, expect, test } from 'vitest';
import { readAllEvents, request } from '../helpers/api.js';
import { assertClientBuilt, CLI, clientEnv, runNode, startNode } from '../helpers/client.js';
import { freePort, TEST_TOKEN, TestServer } from '../helpers/server.js';

// `runwatch run -- <command>` against the real server: the command's bytes pass through
// unchanged, its exit code comes back, and the execution holds what it wrote.

let server: TestServer;
beforeAll(async () => {
	assertClientBuilt();
	server = await TestServer.start();
});
afterAll(async () => {
	await server?.cleanup();
});

/**
 * Writes colours to stdout and stderr in several chunks, with a UTF-8 character split across two
 * writes, then exits 3.
 */
const COMMAND = `
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
	process.stdout.write('\\x1b[32mgreen\\x1b[0m plain\\n');
	process.stderr.write('\\x1b[1;31merror:\\x1b[0m something \\u00e9\\n');
	await sleep(30);
	const euro = Buffer.from('\\u20ac');
	process.stdout.write(Buffer.concat([Buffer.from('price: 5'), euro.subarray(0, 1)]));
	await sleep(30);
	process.stdout.write(Buffer.concat([euro.subarray(1), Buffer.from(' \\u{1F600}\\nno newline at the end')]));
	process.stderr.write('second stderr line\\n');
	process.exitCode = 3;
})();
`;

const ENV = () => clientEnv(server.url, TEST_TOKEN);
const urlIn = (stderr: Buffer) => stderr.toString().match(/^runwatch: watching at (\S+)\n/)?.[1];

test('passes stdout and stderr through byte for byte, exits with the command code, records both streams and the failure', async () => {
	const direct = await runNode(['-e', COMMAND]);
	expect(direct.code).toBe(3);

	const started = performance.now();
	const running = startNode([CLI, 'run', '--name', 'x', '--', process.execPath, '-e', COMMAND], { env: ENV() });
	await running.waitFor('stderr', /watching at/);
	const urlAfterMs = performance.now() - started;
	running.child.stdin!.end();
	const result = await running.finished;

	expect(result.code).toBe(3);
	expect(result.stdout.equals(direct.stdout)).toBe(true);
	const url = urlIn(result.stderr)!;
	expect(url).toMatch(new RegExp(`^${server.url}/executions/[A-Za-z0-9_-]{22}$`));
	expect(result.stderr.equals(Buffer.concat([Buffer.from(`runwatch: watching at ${url}\n`), direct.stderr]))).toBe(true);
	console.log(`runwatch run: URL printed ${urlAfterMs.toFixed(0)} ms after spawning it (node start included)`);

	const id = url.split('/').at(-1)!;
	const events = (await readAllEvents(server, id)) as any[];
	const text = (stream: string) => events.filter((e) => e.type === 'output' && e.data.stream === stream).map((e) => e.data.text).join('');
	expect(text('stdout')).toBe(direct.stdout.toString('utf8'));
	expect(text('stderr')).toBe(direct.stderr.toString('utf8'));
	expect(events[0]).toMatchObject({ type: 'agent-start', data: { input: { command: [process.execPath, '-e', COMMAND] } } });
	expect(events.at(-1)).toMatchObject({ type: 'error', data: { message: 'exited with code 3' } });
	const { body } = await request(server, 'GET', `/api/executions/${id}`);
	expect(body.execution).toMatchObject({ status: 'failed', agent: { name: 'x' }, error: 'exited with code 3' });
});

test('exit 0 completes with the exit code; --id names the execution', async () => {
	const id = `cli-ok-${Date.now()}`;
	const result = await runNode([CLI, 'run', '--id', id, '--', process.execPath, '-e', 'console.log("fine")'], { env: ENV() });
	expect(result.code).toBe(0);
	expect(result.stdout.toString()).toBe('fine\n');
	expect(urlIn(result.stderr)).toBe(`${server.url}/executions/${id}`);
	const { body } = await request(server, 'GET', `/api/executions/${id}`);
	expect(body.execution).toMatchObject({ status: 'completed', agent: { name: 'node' } });
	expect(body.events.at(-1)).toMatchObject({ type: 'agent-complete', data: { output: { exitCode: 0 } } });
});

test('killed by a signal: failed with its name, exit 128 + signal number; signals sent to runwatch reach the command', async () => {
	const id = `cli-sig-${Date.now()}`;
	const running = startNode([CLI, 'run', '--id', id, '--', process.execPath, '-e', 'console.log("up"); setInterval(() => {}, 1000)'], { env: ENV() });
	await running.waitFor('stdout', /up\n/);
	running.child.kill('SIGTERM');
	const result = await running.finished;
	expect(result.code).toBe(128 + 15);
	const { body } = await request(server, 'GET', `/api/executions/${id}`);
	expect(body.execution).toMatchObject({ status: 'failed', error: 'killed by SIGTERM' });
});

test('a command that does not exist: a clear error, exit 127, recorded as failed', async () => {
	const id = `cli-enoent-${Date.now()}`;
	const result = await runNode([CLI, 'run', '--id', id, '--', 'runwatch-no-such-command-xyz'], { env: ENV() });
	expect(result.code).toBe(127);
	expect(result.stderr.toString()).toContain('runwatch: command not found: runwatch-no-such-command-xyz');
	const { body } = await request(server, 'GET', `/api/executions/${id}`);
	expect(body.execution).toMatchObject({ status: 'failed', error: 'command not found: runwatch-no-such-command-xyz' });
});

test('usage and configuration errors exit 2 and say what to do', async () => {
	const noToken = await runNode([CLI, 'run', '--', 'true'], { env: clientEnv(server.url, undefined) });
	expect(noToken.code).toBe(2);
	expect(noToken.stderr.toString()).toContain('cat data/ingest-token');
	const noCommand = await runNode([CLI, 'run', '--name', 'x'], { env: ENV() });
	expect(noCommand.code).toBe(2);
	expect(noCommand.stderr.toString()).toMatch(/needs a command/);
	const unknown = await runNode([CLI, 'frob'], { env: ENV() });
	expect(unknown.code).toBe(2);
	const help = await runNode([CLI, '--help'], { env: ENV() });
	expect(help.code).toBe(0);
	expect(help.stdout.toString()).toMatch(/runwatch run \[--name NAME\]/);
});

test('server unreachable: the command still runs unchanged and one warning goes to stderr', async () => {
	const port = await freePort();
	const result = await runNode([CLI, 'run', '--', process.execPath, '-e', 'console.log("still works"); process.exitCode = 4'], {
		env: clientEnv(`http://127.0.0.1:${port}`, TEST_TOKEN)
	});
	expect(result.code).toBe(4);
	expect(result.stdout.toString()).toBe('still works\n');
	const stderr = result.stderr.toString();
	expect(stderr).toMatch(new RegExp(`^runwatch: watching at http://127\\.0\\.0\\.1:${port}/executions/`));
	expect(stderr.match(/^runwatch: cannot deliver to/gm)).toHaveLength(1);
});

test('cancel: SIGTERM to the command, cancelled recorded, exit 130', async () => {
	const id = `cli-cancel-${Date.now()}`;
	const script = 'process.on("SIGTERM", () => { console.log("got SIGTERM"); process.exit(0); }); console.log("waiting"); setInterval(() => {}, 1000);';
	const running = startNode([CLI, 'run', '--id', id, '--', process.execPath, '-e', script], { env: ENV() });
	await running.waitFor('stdout', /waiting\n/);
	const cancel = await request(server, 'POST', `/api/executions/${id}/cancel`, { body: { reason: 'enough' } });
	expect(cancel.status).toBe(202);
	const result = await running.finished;
	expect(result.code).toBe(130);
	expect(result.stdout.toString()).toBe('waiting\ngot SIGTERM\n');
	expect(result.stderr.toString()).toMatch(/runwatch: cancel requested \(enough\)/);
	const events = (await readAllEvents(server, id)) as any[];
	expect(events.map((e) => e.type).filter((t) => t !== 'output')).toEqual(['agent-start', 'cancel-requested', 'cancelled']);
	expect(events.at(-1).data).toEqual({ reason: 'enough' });
	const { body } = await request(server, 'GET', `/api/executions/${id}`);
	expect(body.execution.status).toBe('cancelled');
});

test('cancel: a command that ignores SIGTERM is killed after --grace seconds', async () => {
	const id = `cli-grace-${Date.now()}`;
	const script = 'process.on("SIGTERM", () => console.log("ignoring SIGTERM")); console.log("waiting"); setInterval(() => {}, 1000);';
	const running = startNode([CLI, 'run', '--id', id, '--grace', '1', '--', process.execPath, '-e', script], { env: ENV() });
	await running.waitFor('stdout', /waiting\n/);
	expect((await request(server, 'POST', `/api/executions/${id}/cancel`, { body: {} })).status).toBe(202);
	const result = await running.finished;
	expect(result.code).toBe(130);
	expect(result.stdout.toString()).toBe('waiting\nignoring SIGTERM\n');
	const { body } = await request(server, 'GET', `/api/executions/${id}`);
	expect(body.execution.status).toBe('cancelled');
});
