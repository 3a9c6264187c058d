// Child-process helpers: spawn (optionally pinned with taskset), wait for readiness, and make
// sure every child dies when the benchmark ends, however it ends.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { readFileSync } from 'node:fs';

const children = new Set();
const cleanups = new Set();

/** Registers a synchronous cleanup (e.g. removing a temp dir) run at exit if still pending; returns its remover. */
export function atExit(fn) {
	installHooks();
	cleanups.add(fn);
	return () => cleanups.delete(fn);
}

function killAllNow() {
	for (const child of children) {
		try {
			child.kill('SIGKILL');
		} catch {
			// already gone
		}
	}
	children.clear();
	for (const fn of cleanups) {
		try {
			fn();
		} catch {
			// best effort
		}
	}
	cleanups.clear();
}

let hooksInstalled = false;
function installHooks() {
	if (hooksInstalled) return;
	hooksInstalled = true;
	process.on('exit', killAllNow);
	for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
		process.on(signal, () => {
			killAllNow();
			process.exit(130);
		});
	}
}

/**
 * Spawns `node <args>` (pinned to `cpu` when given). stdin is a pipe that the child can watch:
 * when this process dies the pipe closes, so our own children can exit on their own too.
 * Returns { child, output() } where output() is the captured stdout+stderr tail.
 */
export function spawnNode(args, { cpu, env, cwd, label = 'child', echo = false, nodeArgs = [], ipc = false } = {}) {
	installHooks();
	const cmd = cpu === undefined ? process.execPath : 'taskset';
	const argv = cpu === undefined ? [...nodeArgs, ...args] : ['-c', String(cpu), process.execPath, ...nodeArgs, ...args];
	const child = spawn(cmd, argv, { cwd, env: { ...process.env, ...env }, stdio: ipc ? ['pipe', 'pipe', 'pipe', 'ipc'] : ['pipe', 'pipe', 'pipe'] });
	children.add(child);
	let tail = '';
	const keep = (chunk) => {
		tail = (tail + chunk.toString()).slice(-20000);
		if (echo) process.stderr.write(`[${label}] ${chunk}`);
	};
	child.stdout.on('data', keep);
	child.stderr.on('data', keep);
	child.stdin.on('error', () => {});
	child.on('exit', () => children.delete(child));
	return { child, output: () => tail };
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves when the child has exited. */
export function stopChild(child, graceMs = 5000) {
	return new Promise((resolve) => {
		if (child.exitCode !== null || child.signalCode !== null) {
			children.delete(child);
			return resolve();
		}
		const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
		child.once('exit', () => {
			clearTimeout(timer);
			children.delete(child);
			resolve();
		});
		try {
			child.stdin.end();
		} catch {
			// ignore
		}
		child.kill('SIGTERM');
	});
}

/** A port free on 127.0.0.1 right now. */
export function freePort() {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address();
			server.close(() => resolve(port));
		});
	});
}

/** Polls `url` until it answers with `okStatus` (or the child exits, or `timeoutMs` passes). */
export async function waitForHttp(url, { child, timeoutMs = 30000, okStatus = 200, output } = {}) {
	const deadline = Date.now() + timeoutMs;
	let lastError = '';
	while (Date.now() < deadline) {
		if (child && child.exitCode !== null) {
			throw new Error(`server exited with code ${child.exitCode} before it was ready:\n${(output?.() ?? '').slice(-3000)}`);
		}
		try {
			const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
			await res.arrayBuffer();
			if (res.status === okStatus) return;
			lastError = `status ${res.status}`;
		} catch (error) {
			lastError = error.message;
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`server at ${url} not ready after ${timeoutMs} ms (${lastError})\n${(output?.() ?? '').slice(-3000)}`);
}

/** Resident set size of a process in KiB, from /proc (Linux); undefined elsewhere. */
export function processRssKiB(pid) {
	try {
		const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return m ? Number(m[1]) : undefined;
	} catch {
		return undefined;
	}
}

/**
 * CPU seconds a process has used, { user, system, total }, from /proc (Linux; clock ticks
 * assumed 100 Hz, the Linux USER_HZ); undefined elsewhere.
 */
export function processCpu(pid) {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		// fields[11] = utime, fields[12] = stime (fields 14 and 15 of stat(5)).
		const user = Number(fields[11]) / 100;
		const system = Number(fields[12]) / 100;
		return { user, system, total: user + system };
	} catch {
		return undefined;
	}
}
