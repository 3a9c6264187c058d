import { readFileSync, statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { request } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';

const servers: TestServer[] = [];
afterEach(async () => {
	for (const server of servers.splice(0)) await server.cleanup();
});

/** Local addresses of the listening TCP sockets on `port`, from /proc/net/tcp{,6}. */
function listeningAddresses(port: number): string[] {
	const found: string[] = [];
	const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
	for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
		let text = '';
		try {
			text = readFileSync(file, 'utf8');
		} catch {
			continue;
		}
		for (const line of text.trim().split('\n').slice(1)) {
			const [, local, , state] = line.trim().split(/\s+/);
			const [address, p] = local!.split(':');
			if (p !== hexPort || state !== '0A') continue; // 0A = LISTEN
			if (address!.length === 8) {
				const bytes = address!.match(/../g)!.map((h) => parseInt(h, 16)).reverse();
				found.push(bytes.join('.'));
			} else found.push(`ipv6:${address}`);
		}
	}
	return found;
}

test('without RUNWATCH_INGEST_TOKEN a token is generated, kept with mode 0600, printed with a curl example, and works', async () => {
	const server = await TestServer.start({ token: null });
	servers.push(server);
	const file = join(server.dataDir, 'ingest-token');
	expect(statSync(file).mode & 0o777).toBe(0o600);
	const token = readFileSync(file, 'utf8').trim();
	expect(token.length).toBeGreaterThanOrEqual(32);
	expect(server.output).toContain(token);
	expect(server.output).toMatch(new RegExp(`curl .*/api/executions .*Authorization: Bearer ${token.replace(/[^\w]/g, '\\$&')}`));

	const headers = { authorization: `Bearer ${token}` };
	const created = await request(server, 'POST', '/api/executions', { body: { agent: 'a' }, auth: false, headers });
	expect(created.status).toBe(201);
	expect((await request(server, 'POST', '/api/executions', { body: { agent: 'a' }, auth: false })).status).toBe(401);

	// A restart keeps the same token (and does not print it again).
	await server.stop('SIGTERM');
	server.output = '';
	await server.restart();
	expect(readFileSync(file, 'utf8').trim()).toBe(token);
	expect(server.output).not.toContain(token);
	expect((await request(server, 'POST', '/api/executions', { body: { agent: 'a' }, auth: false, headers })).status).toBe(201);
});

test('binds 127.0.0.1 by default (HOST unset)', async () => {
	const server = await TestServer.start({ env: { HOST: undefined } });
	servers.push(server);
	expect(server.output).toContain(`http://127.0.0.1:${server.port}`);
	if (process.platform === 'linux') expect(listeningAddresses(server.port)).toEqual(['127.0.0.1']);

	// Not reachable on any other interface.
	const external = Object.values(networkInterfaces())
		.flat()
		.find((i) => i && i.family === 'IPv4' && !i.internal);
	if (external) {
		const error = await fetch(`http://${external.address}:${server.port}/api/executions`, { signal: AbortSignal.timeout(2000) }).then(
			() => undefined,
			(e: Error & { cause?: { code?: string } }) => e.cause?.code ?? e.name
		);
		expect(error).toBe('ECONNREFUSED');
	}
});

// `npm test` must never rebuild the `build/` a running `npm start` serves: it builds into
// RUNWATCH_BUILD_DIR (scripts/test.js), and the production entry serves from there.
test('the production entry serves the build in RUNWATCH_BUILD_DIR, and names the folder when there is none', async () => {
	const { spawnSync } = await import('node:child_process');
	const { mkdtempSync, rmSync } = await import('node:fs');
	const { tmpdir } = await import('node:os');
	const { BUILD_DIR, ROOT } = await import('../helpers/server.js');
	if (process.env.npm_lifecycle_event === 'test') {
		// Under `npm test`, the suite itself runs on a build of its own, not the user's.
		expect(BUILD_DIR).not.toBe(join(ROOT, 'build'));
	}
	const empty = mkdtempSync(join(tmpdir(), 'runwatch-nobuild-'));
	try {
		const result = spawnSync(process.execPath, ['server/index.js'], {
			cwd: ROOT,
			env: { ...process.env, RUNWATCH_BUILD_DIR: empty, PORT: '0', RUNWATCH_DATA_DIR: join(empty, 'data') },
			encoding: 'utf8',
			timeout: 20_000
		});
		expect(result.status).toBe(1);
		expect(result.stderr).toContain(`No production build found in ${empty}`);
	} finally {
		rmSync(empty, { recursive: true, force: true });
	}
});

// The browser tests' server helper: another server already answering on its port must never
// pass for the one it started (CI once ran a browser test against a neighbour's server, whose
// viewing is open on loopback too, after freePort's port was taken before ours could bind it).
test('a test server on a port another server holds fails to start instead of answering for it', async () => {
	const { createServer } = await import('node:http');
	const { RunwatchServer, freePort } = await import('../e2e/support/runwatch.js');
	const port = await freePort();
	const squatter = createServer((_, response) => response.end('{"executions":[],"nextCursor":null}'));
	await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
	const server = new RunwatchServer();
	server.port = port; // as on a restart: the same port again, no new one chosen
	try {
		await expect(server.start()).rejects.toThrow(/already in use/);
	} finally {
		await server.dispose();
		await new Promise((resolve) => squatter.close(resolve));
	}
}, 60_000);
