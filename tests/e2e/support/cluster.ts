// Several production Runwatch nodes on PostgreSQL + Redis behind a real nginx, for browser tests:
// the nginx config and each node's environment come from scripts/lib/cluster-nginx.js, which
// `npm run cluster` uses too, so the test checks what a person runs by hand.
//
// Each cluster gets its own PostgreSQL database (dropped at dispose), its own Redis channel
// prefix on the shared Redis (pub/sub only: it leaves no keys), temp dirs, and loopback ports.
// Every process it starts is stopped at dispose, and SIGKILLed if the test runner exits first.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { clusterNginxConfig, clusterNodeEnv } from '../../../scripts/lib/cluster-nginx.js';
import { findNginx, NGINX_MISSING_MESSAGE } from './nginx.ts';
import { freePort, RunwatchServer, type EventInput, type IngestResult } from './runwatch.ts';

export const PG_ADMIN_URL = process.env.RUNWATCH_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.RUNWATCH_TEST_REDIS_URL || 'redis://127.0.0.1:6379';

/** Why a cluster cannot run here (nginx, PostgreSQL or Redis missing), or undefined. */
export async function clusterMissing(): Promise<string | undefined> {
	if (!findNginx()) return NGINX_MISSING_MESSAGE;
	const sql = postgres(PG_ADMIN_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
	try {
		await sql`SELECT 1`;
	} catch (error) {
		return `PostgreSQL is not reachable at ${PG_ADMIN_URL.replace(/\/\/[^@/]*@/, '//')} (${(error as Error).message}); start it, or set RUNWATCH_TEST_PG_URL`;
	} finally {
		await sql.end({ timeout: 1 }).catch(() => {});
	}
	const url = new URL(REDIS_URL);
	const pong = await new Promise<boolean>((resolve) => {
		const socket = createConnection({ host: url.hostname, port: Number(url.port || 6379) });
		socket.setTimeout(2000);
		socket.once('connect', () => socket.write('PING\r\n'));
		socket.once('data', (data) => (socket.destroy(), resolve(data.toString().startsWith('+PONG'))));
		socket.once('error', () => resolve(false));
		socket.once('timeout', () => (socket.destroy(), resolve(false)));
	});
	if (!pong) return `Redis does not answer at ${REDIS_URL}; start it (apt-get install redis-server), or set RUNWATCH_TEST_REDIS_URL`;
	return undefined;
}

const live = new Set<ChildProcess>();
const liveServers = new Set<RunwatchServer>();
// A runner killed mid-test must not leave nodes or nginx behind.
process.once('exit', () => {
	for (const child of live) child.kill('SIGKILL');
	for (const server of liveServers) void server.stop('SIGKILL');
});

export class Cluster {
	readonly nodes: RunwatchServer[] = [];
	readonly token = `e2e_${randomBytes(16).toString('hex')}`;
	readonly prefix = `rw-e2e-${randomBytes(4).toString('hex')}:`;
	readonly dir = mkdtempSync(join(tmpdir(), 'runwatch-e2e-cluster-'));
	port = 0;
	#database = '';
	#nginx: ChildProcess | undefined;

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	/** A fresh database, `count` nodes started together, then nginx in front of them. */
	async start(count: number): Promise<void> {
		this.#database = `runwatch_e2e_${randomBytes(6).toString('hex')}`;
		await this.#admin((sql) => sql.unsafe(`CREATE DATABASE ${this.#database}`));
		const databaseUrl = new URL(PG_ADMIN_URL);
		databaseUrl.pathname = `/${this.#database}`;
		this.port = await freePort();
		const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
		for (const [i, port] of ports.entries()) {
			const dataDir = join(this.dir, `node-${i + 1}`);
			const env = clusterNodeEnv({ port, origin: this.url, databaseUrl: databaseUrl.toString(), redisUrl: REDIS_URL, token: this.token, dataDir });
			const node = new RunwatchServer({ dataDir, token: this.token, env: { ...env, RUNWATCH_REDIS_PREFIX: this.prefix } });
			node.port = port;
			this.nodes.push(node);
			liveServers.add(node);
		}
		// Together: migrations under the advisory lock, as when a deployment starts.
		await Promise.all(this.nodes.map((node) => node.start()));
		const nginxDir = join(this.dir, 'nginx');
		const binary = findNginx()!;
		mkdirSync(nginxDir, { recursive: true });
		writeFileSync(join(nginxDir, 'nginx.conf'), clusterNginxConfig({ dir: nginxDir, port: this.port, upstreamPorts: ports }));
		const child = spawn(binary, ['-p', nginxDir, '-c', join(nginxDir, 'nginx.conf'), '-e', join(nginxDir, 'error.log')], { stdio: 'ignore' });
		this.#nginx = child;
		live.add(child);
		child.once('exit', () => live.delete(child));
		const deadline = Date.now() + 30_000;
		for (;;) {
			if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${this.nginxLog()}`);
			const response = await fetch(`${this.url}/healthz`).catch(() => undefined);
			if (response?.ok) return;
			if (Date.now() > deadline) throw new Error(`nginx did not answer within 30 s:\n${this.nginxLog()}`);
			await new Promise((r) => setTimeout(r, 50));
		}
	}

	/** Live streams (WebSocket + SSE) each node holds now, from its /readyz (`viewers.live`); -1 for a node that is down. */
	async liveStreams(): Promise<number[]> {
		return Promise.all(
			this.nodes.map(async (node) => {
				if (!node.running) return -1;
				const response = await fetch(`${node.url}/readyz`).catch(() => undefined);
				if (!response) return -1;
				const body = (await response.json()) as { checks: { viewers: { live: number } } };
				return body.checks.viewers.live;
			})
		);
	}

	/** The one node holding exactly one live stream while every other holds none (polls up to `timeoutMs`). */
	async nodeHoldingTheViewer(timeoutMs = 30_000): Promise<RunwatchServer> {
		const deadline = Date.now() + timeoutMs;
		let counts: number[] = [];
		for (;;) {
			counts = await this.liveStreams();
			const holders = counts.flatMap((count, i) => (count > 0 ? [i] : []));
			if (holders.length === 1 && counts[holders[0]!] === 1) return this.nodes[holders[0]!]!;
			if (Date.now() > deadline) throw new Error(`no single node holds the viewer: live streams per node ${JSON.stringify(counts)}`);
			await new Promise((r) => setTimeout(r, 100));
		}
	}

	/**
	 * POSTs through nginx, as an agent would: a request cut by a node's death (502, or the
	 * connection dropped) is sent again with the same event ids, which stores nothing twice.
	 */
	async post<T>(path: string, body: unknown, timeoutMs = 30_000): Promise<T> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			let failure: string;
			try {
				const response = await fetch(`${this.url}${path}`, {
					method: 'POST',
					headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
					body: JSON.stringify(body)
				});
				const text = await response.text();
				if (response.ok) return JSON.parse(text) as T;
				failure = `${response.status}: ${text}`;
				if (response.status < 500) throw new Error(`POST ${path} answered ${failure}`);
			} catch (error) {
				if (String(error).includes('answered')) throw error;
				failure = String(error);
			}
			if (Date.now() > deadline) throw new Error(`POST ${path} kept failing: ${failure}`);
			await new Promise((r) => setTimeout(r, 100));
		}
	}

	createExecution(id: string, agent = 'e2e-cluster-agent'): Promise<{ id: string }> {
		return this.post('/api/executions', { id, agent: { name: agent } });
	}

	postEvents(executionId: string, events: EventInput[]): Promise<IngestResult> {
		return this.post(`/api/executions/${encodeURIComponent(executionId)}/events`, { events });
	}

	nginxLog(): string {
		try {
			return readFileSync(join(this.dir, 'nginx', 'error.log'), 'utf8');
		} catch {
			return '';
		}
	}

	/** Every node's output and nginx's error log, for a failing test's attachments. */
	logs(): string {
		return [...this.nodes.map((node, i) => `--- node ${i + 1} (port ${node.port})\n${node.logs()}`), `--- nginx\n${this.nginxLog()}`].join('\n');
	}

	async dispose(): Promise<void> {
		const nginx = this.#nginx;
		if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
			const gone = new Promise((r) => nginx.once('exit', r));
			nginx.kill('SIGTERM');
			const timer = setTimeout(() => nginx.kill('SIGKILL'), 5_000);
			await gone;
			clearTimeout(timer);
		}
		await Promise.all(this.nodes.map((node) => node.stop('SIGTERM')));
		for (const node of this.nodes) liveServers.delete(node);
		if (this.#database) await this.#admin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${this.#database} WITH (FORCE)`));
		rmSync(this.dir, { recursive: true, force: true });
	}

	async #admin(run: (sql: postgres.Sql) => Promise<unknown>): Promise<void> {
		const sql = postgres(PG_ADMIN_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
		try {
			await run(sql);
		} finally {
			await sql.end({ timeout: 1 });
		}
	}
}
