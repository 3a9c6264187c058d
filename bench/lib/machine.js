// What the benchmark ran on, and which cores to pin the server and the load to.
import os from 'node:os';
import { spawnSync } from 'node:child_process';

let tasksetChecked;

/** True when `taskset` exists and may set affinity here (containers sometimes forbid it). */
export function tasksetAvailable() {
	if (tasksetChecked !== undefined) return tasksetChecked;
	try {
		const r = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore', timeout: 5000 });
		tasksetChecked = r.status === 0;
	} catch {
		tasksetChecked = false;
	}
	return tasksetChecked;
}

/** CPUs this process may run on (affinity mask), falling back to os.cpus(). */
export function allowedCpus() {
	try {
		const r = spawnSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8', timeout: 5000 });
		const list = r.stdout?.split(':')[1]?.trim();
		if (r.status === 0 && list) {
			const cpus = [];
			for (const part of list.split(',')) {
				const [a, b] = part.split('-').map(Number);
				for (let c = a; c <= (b ?? a); c++) cpus.push(c);
			}
			if (cpus.length > 0) return cpus;
		}
	} catch {
		// no taskset
	}
	return os.cpus().map((_, i) => i);
}

/**
 * Core assignment: the server on one core, the load generator on another, when there are at
 * least two cores and taskset works. Otherwise no pinning (and a note saying so).
 */
export function pinningPlan({ disabled = false } = {}) {
	if (disabled) return { server: undefined, load: undefined, note: 'pinning disabled (--no-pin)' };
	if (!tasksetAvailable()) return { server: undefined, load: undefined, note: 'taskset unavailable: not pinned' };
	const cpus = allowedCpus();
	if (cpus.length < 2) return { server: undefined, load: undefined, note: 'single core: not pinned' };
	const loadCpus = cpus.slice(1);
	return {
		server: cpus[0],
		load: cpus[1],
		loadCpus,
		note: `server on cpu ${cpus[0]}, load on cpu${loadCpus.length > 1 ? 's' : ''} ${loadCpus.join(',')}`
	};
}

export function machineInfo() {
	const cpus = os.cpus();
	return {
		cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
		cores: cpus.length,
		allowedCpus: allowedCpus().length,
		memGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
		node: process.version,
		platform: `${os.platform()} ${os.release()} ${os.arch()}`
	};
}
