// The IPC side of a load script (bench/lib/workers.js starts it): answers `{ id, cmd, args }`
// messages with `{ id, ok, result | error }`, adds the commands every script has (`cpu`, `now`,
// `close`), and exits when the parent goes away. bench/load/worker.js predates it and speaks the
// same protocol by hand.

export const nowUs = () => Number(process.hrtime.bigint() / 1000n);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Refuses to send load anywhere but this machine. */
export function assertLoopback(url) {
	const host = new URL(url).hostname;
	if (host !== '127.0.0.1') throw new Error(`refusing non-loopback target ${url}`);
}

/**
 * Serves `commands` (name → async (args) => result) over the IPC channel.
 * @param {string} name the script, for the message when run by hand
 * @param {Record<string, (args: any) => unknown>} commands
 */
export function serve(name, commands) {
	if (!process.send) {
		console.error(`${name} runs under bench/run.js (it needs an IPC channel)`);
		process.exit(2);
	}
	process.on('disconnect', () => process.exit(2));
	const all = {
		cpu: () => {
			const u = process.cpuUsage();
			return { cpuSec: (u.user + u.system) / 1e6, rssKiB: Math.round(process.memoryUsage.rss() / 1024) };
		},
		now: () => ({ now: nowUs() }),
		close: () => ({ closed: true }),
		...commands
	};
	process.on('message', async ({ id, cmd, args }) => {
		try {
			const fn = all[cmd];
			if (!fn) throw new Error(`unknown command ${cmd}`);
			process.send({ id, ok: true, result: await fn(args ?? {}) });
		} catch (error) {
			process.send({ id, ok: false, error: String(error?.stack ?? error) });
		}
	});
	process.send({ ready: true });
}
