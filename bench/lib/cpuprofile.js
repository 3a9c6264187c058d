// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per file.
import { readFileSync } from 'node:fs';

function shortUrl(url) {
	return url
		.replace(/^file:\/\//, '')
		.replace(/^.*\/node_modules\//, 'node_modules/')
		.replace(/^.*\/build\//, 'build/')
		.replace(/^.*\/bench\//, 'bench/');
}

/** { totalMs, idleMs, functions: [{ name, ms, pct }], files: [{ name, ms, pct }] } (pct of busy time). */
export function summariseProfile(file, top = 15) {
	const profile = JSON.parse(readFileSync(file, 'utf8'));
	const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
	const self = new Map();
	let total = 0;
	for (let i = 0; i < profile.samples.length; i++) {
		const node = nodes.get(profile.samples[i]);
		const dt = profile.timeDeltas[i] ?? 0;
		total += dt;
		self.set(node, (self.get(node) ?? 0) + dt);
	}
	const byFn = new Map();
	const byFile = new Map();
	let idle = 0;
	for (const [node, t] of self) {
		const { functionName, url, lineNumber } = node.callFrame;
		if (functionName === '(idle)') {
			idle += t;
			continue;
		}
		const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
		const key = `${functionName || '(anonymous)'}${where ? ' ' + where : ''}`;
		byFn.set(key, (byFn.get(key) ?? 0) + t);
		const fileKey = url ? shortUrl(url) : `(native) ${functionName}`;
		byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + t);
	}
	const busy = total - idle;
	const list = (m) =>
		[...m]
			.sort((a, b) => b[1] - a[1])
			.slice(0, top)
			.map(([name, t]) => ({ name, ms: t / 1000, pct: (t / busy) * 100 }));
	return { totalMs: total / 1000, idleMs: idle / 1000, busyMs: busy / 1000, functions: list(byFn), files: list(byFile) };
}
