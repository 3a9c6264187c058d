// A real Runwatch production server (`node server/index.js` over the built app) for browser tests:
// loopback only, a free port, a fresh data directory and a known ingest token. It can be stopped
// with SIGTERM and started again on the same port and data directory, which is how the tests cut
// every WebSocket and check that pages resume without losing or repeating an event.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../../..');
const ENTRY = join(PROJECT_ROOT, 'server/index.js');
/** Long enough for a cold start on a slow CI machine; a normal start takes well under a second. */
const START_TIMEOUT_MS = 30_000;
/** The server's own shutdown gives up after 15 s; we wait a little longer before SIGKILL. */
const STOP_TIMEOUT_MS = 20_000;

export interface EventInput {
	id?: string;
	type: string;
	ts?: string;
	stepId?: string;
	parentStepId?: string;
	data?: unknown;
}

export interface IngestResult {
	accepted: number;
	lastSeq: number;
}

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
	return new Promise((resolvePort, reject) => {
		const probe = createServer();
		probe.unref();
		probe.on('error', reject);
		probe.listen(0, '127.0.0.1', () => {
			const address = probe.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			probe.close(() => resolvePort(port));
		});
	});
}

/** The server could not bind its port: another process has it. */
class PortTaken extends Error {}

export class RunwatchServer {
	readonly dataDir: string;
	readonly token: string;
	port = 0;
	/** Settings of this server's own (e.g. a short RUNWATCH_STALL_SECONDS), over the defaults below. */
	readonly env: NodeJS.ProcessEnv;
	private child: ChildProcess | undefined;
	private output = '';

	constructor({ dataDir, token, env }: { dataDir?: string; token?: string; env?: NodeJS.ProcessEnv } = {}) {
		this.dataDir = dataDir ?? mkdtempSync(join(tmpdir(), 'runwatch-e2e-'));
		this.token = token ?? `e2e_${randomBytes(16).toString('hex')}`;
		this.env = env ?? {};
	}

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	get running(): boolean {
		return this.child !== undefined;
	}

	/**
	 * Starts the server (on its previous port when it has had one) and waits until it listens and
	 * its API answers. A free port found by `freePort` may be taken by another process before the
	 * server binds it: then a new one, up to three times.
	 */
	async start(): Promise<void> {
		if (this.child) throw new Error('Runwatch test server is already running');
		const fresh = !this.port;
		for (let attempt = 1; ; attempt++) {
			if (!this.port) this.port = await freePort();
			try {
				return await this.startOnce();
			} catch (error) {
				if (!(fresh && attempt < 3 && error instanceof PortTaken)) throw error;
				this.port = 0;
				this.output = '';
			}
		}
	}

	private async startOnce(): Promise<void> {
		const env: NodeJS.ProcessEnv = {
			...process.env,
			HOST: '127.0.0.1',
			PORT: String(this.port),
			RUNWATCH_DATA_DIR: this.dataDir,
			RUNWATCH_INGEST_TOKEN: this.token,
			// The demo plays in about 10 s instead of a minute: the tests that press its button
			// watch it end; its length is the unit test's business (demo-agent.spec.ts).
			RUNWATCH_DEMO_SPEED: '6'
		};
		// Embedded SQLite, no cross-node bus, open viewing on loopback, the default limits and
		// headers: whatever the shell says.
		for (const name of ['DATABASE_URL', 'REDIS_URL', 'RUNWATCH_VIEWER_TOKEN', 'RUNWATCH_RETENTION_DAYS', 'ORIGIN', 'RUNWATCH_FRAME_ANCESTORS', 'RUNWATCH_INGEST_RATE', 'RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS', 'ADDRESS_HEADER', 'XFF_DEPTH', 'RUNWATCH_STALL_SECONDS']) delete env[name];
		Object.assign(env, this.env);

		const child = spawn(process.execPath, [ENTRY], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
		this.child = child;
		let exited: string | undefined;
		child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
		child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
		child.once('exit', (code, signal) => {
			exited = `exited with ${signal ?? `code ${code}`}`;
			if (this.child === child) this.child = undefined;
		});

		const deadline = Date.now() + START_TIMEOUT_MS;
		for (;;) {
			if (exited) {
				const why = `Runwatch test server ${exited} while starting:\n${this.output}`;
				throw this.output.includes('already in use') ? new PortTaken(why) : new Error(why);
			}
			// Its own banner first (printed once it listens): another server on this port must
			// never pass for this one.
			if (this.output.includes('Runwatch is live at ')) {
				try {
					// The ingest token may also view, whatever the viewing rules of this server.
					const response = await fetch(`${this.url}/api/executions?limit=1`, { headers: { authorization: `Bearer ${this.token}` } });
					if (response.ok) return;
				} catch {
					// not answering yet
				}
			}
			if (Date.now() > deadline) {
				await this.stop('SIGKILL');
				throw new Error(`Runwatch test server did not answer within ${START_TIMEOUT_MS} ms:\n${this.output}`);
			}
			await new Promise((r) => setTimeout(r, 100));
		}
	}

	/** Stops the server with `signal` (SIGTERM: graceful shutdown) and waits until the process is gone. */
	async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
		const child = this.child;
		if (!child) return;
		const gone = new Promise<void>((r) => child.once('exit', () => r()));
		child.kill(signal);
		const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
		await gone;
		clearTimeout(timer);
		this.child = undefined;
	}

	/** SIGTERM, then a new process on the same port and data directory. */
	async restart(): Promise<void> {
		await this.stop('SIGTERM');
		await this.start();
	}

	/** Stops the server and deletes its data directory. */
	async dispose(): Promise<void> {
		await this.stop('SIGTERM');
		rmSync(this.dataDir, { recursive: true, force: true });
	}

	/** Everything the server printed so far (attached to failing tests). */
	logs(): string {
		return this.output;
	}

	private async post<T>(path: string, body: unknown): Promise<T> {
		const response = await fetch(`${this.url}${path}`, {
			method: 'POST',
			headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
			body: JSON.stringify(body)
		});
		const text = await response.text();
		if (!response.ok) throw new Error(`POST ${path} answered ${response.status}: ${text}`);
		return JSON.parse(text) as T;
	}

	/** Creates a share link with the ingest token; the answer's `url` opens it. */
	createShare(executionId: string, body: { expiresInSeconds?: number } = {}): Promise<{ id: string; url: string }> {
		return this.post(`/api/executions/${encodeURIComponent(executionId)}/shares`, body);
	}

	createExecution(body: {
		id?: string;
		agent: { name: string; [field: string]: unknown };
		department?: { name: string; [field: string]: unknown };
		metadata?: Record<string, string>;
	}): Promise<{ id: string; url: string }> {
		return this.post('/api/executions', body);
	}

	/** Sends one event, or a batch when given an array. */
	postEvents(executionId: string, events: EventInput | EventInput[]): Promise<IngestResult> {
		const body = Array.isArray(events) ? { events } : events;
		return this.post(`/api/executions/${encodeURIComponent(executionId)}/events`, body);
	}
}

/** A unique, readable execution id for one test. */
export function executionId(prefix: string): string {
	return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** 1, 2, …, n */
export function seqs(n: number): number[] {
	return Array.from({ length: n }, (_, i) => i + 1);
}
