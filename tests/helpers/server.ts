/**
 * Runs the real production server (`node server/index.js` over `build/`) for integration tests:
 * a fresh data directory, a free loopback port, a fixed ingest token. It can be stopped with
 * SIGTERM or SIGKILL and started again on the same data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from './postgres.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where the production build under test is: `npm test` builds into its own folder (scripts/test.js). */
export const BUILD_DIR = process.env.RUNWATCH_BUILD_DIR ? resolve(process.env.RUNWATCH_BUILD_DIR) : join(ROOT, 'build');
export const TEST_TOKEN = 'test-ingest-token-0123456789abcdef';

/** Throws a sentence saying what to do when there is no production build to test. */
export function assertBuilt(): void {
	const handler = join(BUILD_DIR, 'handler.js');
	if (!existsSync(handler)) {
		throw new Error(`No production build at ${handler}. Run \`npm run build\` before the integration tests.`);
	}
}

/** A port nobody listens on right now: bind port 0 on loopback, read it, let it go. */
export function freePort(): Promise<number> {
	return new Promise((resolvePort, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			if (!address || typeof address === 'string') return reject(new Error('no port'));
			server.close(() => resolvePort(address.port));
		});
	});
}

export interface StartOptions {
	/** Reuse this data directory (default: a fresh temp one, removed by `cleanup`). */
	dataDir?: string;
	/** The ingest token; `null` leaves RUNWATCH_INGEST_TOKEN unset so the server generates one. */
	token?: string | null;
	/** Extra environment (HOST, ORIGIN, ...); `undefined` values are removed. */
	env?: Record<string, string | undefined>;
	/** How long to wait for the first answer. */
	startTimeoutMs?: number;
}

export interface Exit {
	code: number | null;
	signal: NodeJS.Signals | null;
}

/** Environment variables the server reads; never inherited from the shell running the tests. */
const SERVER_ENV = ['PORT', 'HOST', 'ORIGIN', 'RUNWATCH_DATA_DIR', 'RUNWATCH_INGEST_TOKEN', 'RUNWATCH_VIEWER_TOKEN', 'RUNWATCH_INGEST_FAST_PATH', 'RUNWATCH_RETENTION_DAYS', 'DATABASE_URL', 'REDIS_URL', 'RUNWATCH_REDIS_PREFIX', 'BODY_SIZE_LIMIT', 'PROTOCOL_HEADER', 'RUNWATCH_INGEST_RATE', 'RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS', 'RUNWATCH_FRAME_ANCESTORS', 'ADDRESS_HEADER', 'XFF_DEPTH'];

/**
 * Defaults for the tests' servers, which a test's own `env` overrides. The integration tests
 * open hundreds of connections from 127.0.0.1 (one fan-out test alone holds 100); the tests of
 * that limit set their own.
 */
const TEST_DEFAULTS: Record<string, string> = { RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS: '100000' };

/**
 * `RUNWATCH_TEST_STORE=postgres`: every test server that does not set DATABASE_URL itself gets
 * its own fresh PostgreSQL database (kept across its restarts, dropped by `cleanup`), so the
 * integration suite can run on PostgreSQL as it runs on SQLite.
 */
const ON_POSTGRES = process.env.RUNWATCH_TEST_STORE === 'postgres';
/** The database of each data directory (a server started on another's data gets its data), and how many servers use it. */
const databases = new Map<string, { database: TestDatabase; users: number }>();

export class TestServer {
	readonly dataDir: string;
	port: number; // a new one when the first was taken before the server bound it
	readonly token: string | null;
	readonly #env: Record<string, string | undefined>;
	readonly #ownsDataDir: boolean;
	#process: ChildProcess | undefined;
	#usesDatabase = false;
	#exited: Promise<Exit> | undefined;
	/** Everything the process printed (stdout and stderr), across restarts. */
	output = '';

	private constructor(options: StartOptions, port: number) {
		this.#ownsDataDir = !options.dataDir;
		this.dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'runwatch-it-'));
		this.port = port;
		this.token = options.token === undefined ? TEST_TOKEN : options.token;
		this.#env = { ...options.env };
	}

	static async start(options: StartOptions = {}): Promise<TestServer> {
		assertBuilt();
		const server = new TestServer(options, await freePort());
		try {
			if (ON_POSTGRES && !('DATABASE_URL' in server.#env)) {
				let entry = databases.get(server.dataDir);
				if (!entry) databases.set(server.dataDir, (entry = { database: await createTestDatabase(), users: 0 }));
				entry.users++;
				server.#usesDatabase = true;
				server.#env.DATABASE_URL = entry.database.url;
			}
			// A port `freePort` found may be taken by another process before the server binds it:
			// then a new one, up to three times.
			for (let attempt = 1; ; attempt++) {
				try {
					await server.#spawn(options.startTimeoutMs ?? 20_000);
					break;
				} catch (error) {
					if (attempt >= 3 || !server.output.includes('already in use')) throw error;
					server.port = await freePort();
					server.output = '';
				}
			}
		} catch (error) {
			await server.cleanup(); // nobody else holds it to clean up
			throw error;
		}
		return server;
	}

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	get wsUrl(): string {
		return `ws://127.0.0.1:${this.port}/api/ws`;
	}

	get pid(): number | undefined {
		return this.#process?.pid;
	}

	get running(): boolean {
		return !!this.#process && this.#process.exitCode === null && this.#process.signalCode === null;
	}

	/** Resolves when the process ends. */
	get exited(): Promise<Exit> {
		if (!this.#exited) throw new Error('server was never started');
		return this.#exited;
	}

	/** Authorization header for ingest. */
	get auth(): Record<string, string> {
		if (!this.token) throw new Error('this server generated its own token; read it from the data dir');
		return { authorization: `Bearer ${this.token}` };
	}

	async #spawn(timeoutMs: number): Promise<void> {
		const env: Record<string, string | undefined> = { ...process.env };
		for (const name of SERVER_ENV) delete env[name];
		Object.assign(env, TEST_DEFAULTS, { PORT: String(this.port), RUNWATCH_DATA_DIR: this.dataDir, NODE_ENV: 'production' }, this.#env);
		if (this.token) env.RUNWATCH_INGEST_TOKEN = this.token;
		for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];

		const child = spawn(process.execPath, ['server/index.js'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
		this.#process = child;
		child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
		child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
		this.#exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
		await this.#waitUntilAnswering(timeoutMs);
	}

	async #waitUntilAnswering(timeoutMs: number): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		let exit: Exit | undefined;
		void this.#exited!.then((e) => (exit = e));
		for (;;) {
			if (exit) throw new Error(`server exited during start (${JSON.stringify(exit)}):\n${this.output}`);
			// Its own banner first (printed once it listens): another server on this port must
			// never pass for this one.
			if (this.output.includes('Runwatch is live at ')) {
				try {
					const response = await fetch(`${this.url}/api/executions?limit=1`, { signal: AbortSignal.timeout(1000) });
					await response.arrayBuffer();
					return;
				} catch {
					// not answering yet
				}
			}
			if (Date.now() > deadline) {
				this.#process?.kill('SIGKILL');
				throw new Error(`server did not answer within ${timeoutMs} ms:\n${this.output}`);
			}
			await new Promise((r) => setTimeout(r, 50));
		}
	}

	/** Sends `signal` and waits for the process to end. */
	async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<Exit> {
		if (!this.#process || !this.running) return this.#exited ? await this.#exited : { code: null, signal: null };
		this.#process.kill(signal);
		const timer = setTimeout(() => this.#process?.kill('SIGKILL'), timeoutMs);
		try {
			return await this.#exited!;
		} finally {
			clearTimeout(timer);
		}
	}

	/** Starts the process again on the same data directory and port. */
	async restart(timeoutMs = 20_000): Promise<void> {
		if (this.running) throw new Error('stop the server before restarting it');
		await this.#spawn(timeoutMs);
	}

	/** Kills the process if it runs and removes the data directory this helper created. */
	async cleanup(): Promise<void> {
		if (this.running) await this.stop('SIGKILL');
		const entry = this.#usesDatabase ? databases.get(this.dataDir) : undefined;
		this.#usesDatabase = false;
		if (entry && --entry.users === 0) {
			databases.delete(this.dataDir);
			await entry.database.drop();
		}
		if (this.#ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
	}
}
