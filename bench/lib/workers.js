// Load workers (bench/load/worker.js) as child processes with an IPC channel, pinned to the load
// cores, and a small request/response call over that channel with a time limit on every call.
import { fileURLToPath } from 'node:url';
import { spawnNode, stopChild } from './proc.js';

const workerScript = fileURLToPath(new URL('../load/worker.js', import.meta.url));

/**
 * Starts one worker on `cpu` (`script`: another load script speaking the same IPC, see
 * bench/load/ipc.js; default bench/load/worker.js). Resolves once it says it is ready.
 */
export async function startWorker({ cpu, label = 'load', nodeArgs = [], echo = false, script = workerScript } = {}) {
	const { child, output } = spawnNode([script], { cpu, label, echo, nodeArgs, ipc: true });
	const pending = new Map();
	let nextId = 1;
	let exited = false;
	await new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`${label}: worker not ready in 10 s\n${output()}`)), 10000);
		child.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`${label}: worker exited (${code}) before ready\n${output()}`));
		});
		child.on('message', function onReady(msg) {
			if (msg?.ready) {
				clearTimeout(timer);
				child.off('message', onReady);
				resolve();
			}
		});
	});
	child.on('message', (msg) => {
		const p = pending.get(msg?.id);
		if (!p) return;
		pending.delete(msg.id);
		clearTimeout(p.timer);
		if (msg.ok) p.resolve(msg.result);
		else p.reject(new Error(`${label}: ${msg.error}`));
	});
	child.on('exit', (code) => {
		exited = true;
		for (const p of pending.values()) {
			clearTimeout(p.timer);
			p.reject(new Error(`${label}: worker exited (${code})\n${output().slice(-2000)}`));
		}
		pending.clear();
	});
	return {
		pid: child.pid,
		output,
		/** Runs `cmd` in the worker; rejects after `timeoutMs`. */
		call(cmd, args = {}, timeoutMs = 120000) {
			if (exited) return Promise.reject(new Error(`${label}: worker is gone`));
			const id = nextId++;
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => {
					pending.delete(id);
					reject(new Error(`${label}: "${cmd}" took longer than ${timeoutMs} ms`));
				}, timeoutMs);
				pending.set(id, { resolve, reject, timer });
				child.send({ id, cmd, args });
			});
		},
		stop: () => stopChild(child, 2000)
	};
}

/** Starts `count` workers, spread round-robin over `cpus` (undefined entries: not pinned). */
export async function startWorkers(count, { cpus = [undefined], label = 'load', ...rest } = {}) {
	const list = [];
	try {
		for (let i = 0; i < count; i++) list.push(await startWorker({ cpu: cpus[i % cpus.length], label: `${label}${i}`, ...rest }));
	} catch (error) {
		await Promise.all(list.map((w) => w.stop()));
		throw error;
	}
	return list;
}

/** Splits `total` into `parts` near-equal integers. */
export function split(total, parts) {
	return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}
