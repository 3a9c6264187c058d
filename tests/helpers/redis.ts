/**
 * Redis for tests: our own `redis-server` on a free loopback port in a temp dir (tests that stop
 * and restart Redis must never touch the shared one on 6379), and the skip-or-fail rule: without
 * redis-server these tests are skipped with a message, except under CI=true, where they fail.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { freePort } from './server.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CI = process.env.CI === 'true' || process.env.CI === '1';
const REDIS_SERVER = process.env.RUNWATCH_TEST_REDIS_SERVER || 'redis-server';
export const REDIS_MISSING = 'redis-server is not installed, so the Redis bus tests cannot run: sudo apt-get install redis-server';

export const redisAvailable = (() => {
	const result = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
	return !result.error && result.status === 0;
})();

/** Runs under CI even without Redis (and fails there, saying why); skipped elsewhere with a message. */
export function redisGate(file: string): { run: boolean; require(): void } {
	if (!redisAvailable && !CI) console.warn(`${file}: skipped: ${REDIS_MISSING}`);
	return {
		run: redisAvailable || CI,
		require() {
			if (!redisAvailable) throw new Error(`${CI ? 'CI=true and ' : ''}${REDIS_MISSING}`);
		}
	};
}


function answers(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = createConnection({ host: '127.0.0.1', port });
		socket.setTimeout(500);
		socket.once('connect', () => socket.write('PING\r\n'));
		socket.once('data', (data) => {
			socket.destroy();
			resolve(data.toString().startsWith('+PONG'));
		});
		socket.once('error', () => resolve(false));
		socket.once('timeout', () => {
			socket.destroy();
			resolve(false);
		});
	});
}

/** A throwaway redis-server (no persistence) that can be stopped and started again on its port. */
export class TestRedis {
	readonly port: number;
	readonly dir: string;
	#child: ChildProcess | undefined;

	private constructor(port: number) {
		this.port = port;
		this.dir = mkdtempSync(join(tmpdir(), 'runwatch-redis-'));
	}

	static async start(): Promise<TestRedis> {
		const redis = new TestRedis(await freePort());
		await redis.restart();
		return redis;
	}

	get url(): string {
		return `redis://127.0.0.1:${this.port}`;
	}

	get running(): boolean {
		return !!this.#child && this.#child.exitCode === null && this.#child.signalCode === null;
	}

	/** Starts it (again) on the same port, and waits until it answers PING. */
	async restart(): Promise<void> {
		if (this.running) throw new Error('redis is running');
		const child = spawn(REDIS_SERVER, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], {
			stdio: 'ignore'
		});
		this.#child = child;
		const deadline = Date.now() + 10_000;
		while (!(await answers(this.port))) {
			if (child.exitCode !== null) throw new Error(`redis-server on port ${this.port} exited with ${child.exitCode}`);
			if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not answer within 10 s`);
			await new Promise((r) => setTimeout(r, 25));
		}
	}

	/** Kills it (SIGKILL: connections drop as in a crash). */
	async stop(): Promise<void> {
		const child = this.#child;
		if (!child || !this.running) return;
		const exited = new Promise((resolve) => child.once('exit', resolve));
		child.kill('SIGKILL');
		await exited;
	}

	async cleanup(): Promise<void> {
		await this.stop();
		rmSync(this.dir, { recursive: true, force: true });
	}
}
