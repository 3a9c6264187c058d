/**
 * The client package (packages/client) for integration tests: its build, `npm pack` into a temp
 * project, and running scripts and the `runwatch` command as child processes.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './server.js';

export const CLIENT_DIR = join(ROOT, 'packages', 'client');
export const CLIENT_DIST = join(CLIENT_DIR, 'dist');
export const CLI = join(CLIENT_DIST, 'cli.cjs');

/** Throws a sentence saying what to do when packages/client is not built. */
export function assertClientBuilt(): void {
	for (const file of ['index.js', 'index.d.ts', 'otel.js', 'cli.cjs']) {
		if (!existsSync(join(CLIENT_DIST, file))) {
			throw new Error(`No client build at ${join(CLIENT_DIST, file)}. Run \`npm run build:client\` before the integration tests.`);
		}
	}
}

/**
 * `npm pack`s the package and installs the tarball into a fresh project (offline: the package
 * has no dependencies). Returns the project directory.
 */
export function installPackedClient(): string {
	assertClientBuilt();
	const dir = mkdtempSync(join(tmpdir(), 'runwatch-client-project-'));
	const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
	npm(['pack', '--pack-destination', dir, '--silent'], CLIENT_DIR);
	const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'));
	if (!tarball) throw new Error(`npm pack wrote no tarball into ${dir}`);
	writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'agent-project', private: true, type: 'module' }));
	npm(['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', `./${tarball}`], dir);
	return dir;
}

export interface Finished {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: Buffer;
	stderr: Buffer;
}

export interface Running {
	child: ChildProcess;
	/** What it printed so far. */
	stdout(): Buffer;
	stderr(): Buffer;
	/** Resolves when the process has exited and its output ended. */
	finished: Promise<Finished>;
	/** Resolves once stdout or stderr (as text) matches. */
	waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/** Starts `node <args>` with RUNWATCH_* taken only from `env`. */
export function startNode(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Running {
	const env: Record<string, string | undefined> = { ...process.env };
	for (const name of Object.keys(env)) if (name.startsWith('RUNWATCH_') || name === 'FORCE_COLOR' || name === 'NO_COLOR') delete env[name];
	Object.assign(env, options.env);
	const child = spawn(process.execPath, args, { cwd: options.cwd ?? ROOT, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
	const out: Buffer[] = [];
	const err: Buffer[] = [];
	const waiters = new Set<() => void>();
	let exited = false;
	child.on('close', () => (exited = true));
	const poke = () => waiters.forEach((w) => w());
	child.stdout!.on('data', (chunk: Buffer) => (out.push(chunk), poke()));
	child.stderr!.on('data', (chunk: Buffer) => (err.push(chunk), poke()));
	const finished = new Promise<Finished>((resolve) =>
		child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }))
	);
	const running: Running = {
		child,
		stdout: () => Buffer.concat(out),
		stderr: () => Buffer.concat(err),
		finished,
		waitFor(stream, pattern, timeoutMs = 30_000) {
			return new Promise((resolve, reject) => {
				const check = () => {
					const match = (stream === 'stdout' ? running.stdout() : running.stderr()).toString('utf8').match(pattern);
					if (!match) return false;
					cleanup();
					resolve(match);
					return true;
				};
				const timer = setTimeout(() => {
					cleanup();
					reject(new Error(`no ${pattern} on ${stream} within ${timeoutMs} ms; stdout: ${running.stdout()}\nstderr: ${running.stderr()}`));
				}, timeoutMs);
				const onExit = () => setImmediate(() => check() || (cleanup(), reject(new Error(`exited without ${pattern} on ${stream}; stdout: ${running.stdout()}\nstderr: ${running.stderr()}`))));
				const cleanup = () => {
					clearTimeout(timer);
					waiters.delete(check);
					child.off('close', onExit);
				};
				waiters.add(check);
				if (exited) return onExit();
				child.once('close', onExit);
				check();
			});
		}
	};
	return running;
}

/** Runs `node <args>` to the end. */
export function runNode(args: string[], options: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {}): Promise<Finished> {
	const running = startNode(args, options);
	running.child.stdin!.end(options.input ?? '');
	return running.finished;
}

/** Environment for the client and the CLI pointing at `url` with `token`. */
export function clientEnv(url: string, token: string | undefined): Record<string, string | undefined> {
	return { RUNWATCH_URL: url, RUNWATCH_TOKEN: token };
}
