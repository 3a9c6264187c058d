// System under test: the real Runwatch production build (server/index.js over build/), started
// in its own process with a fresh temporary data directory.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { atExit, freePort, spawnNode, stopChild, waitForHttp } from '../lib/proc.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

export default {
	name: 'runwatch',
	label: 'Runwatch (WebSocket)',
	kind: 'ws',
	storage: true,
	description: 'the built server (SvelteKit + SQLite + hub), batched frames per tick, over /api/ws',
	start: startRunwatch
};

let snapshot;
/**
 * A private copy of `build/` and `server/` for this benchmark (under bench/results/, git-ignored,
 * removed at exit), taken once: a rebuild in the working tree while the benchmark runs cannot
 * pull the build from under it, and every run measures the same code. Modules still resolve
 * from the repository's node_modules and package.json.
 */
async function snapshotDir() {
	if (snapshot) return snapshot;
	const deadline = Date.now() + 120000;
	for (;;) {
		if (existsSync(join(root, 'build', 'handler.js'))) {
			const dir = join(root, 'bench', 'results', `.runwatch-build-${process.pid}`);
			try {
				cpSync(join(root, 'build'), join(dir, 'build'), { recursive: true });
				cpSync(join(root, 'server'), join(dir, 'server'), { recursive: true });
				if (existsSync(join(dir, 'build', 'handler.js'))) {
					atExit(() => rmSync(dir, { recursive: true, force: true }));
					snapshot = dir;
					return dir;
				}
			} catch {
				// the build changed while we copied it: try again
			}
			rmSync(dir, { recursive: true, force: true });
		}
		if (Date.now() > deadline) throw new Error('No production build: run `npm run build` first.');
		await new Promise((r) => setTimeout(r, 1000));
	}
}

/**
 * Starts one Runwatch server. Returns what the load needs to reach it, and stop(). `dataDir`:
 * use (and keep) this data directory instead of a fresh one; `env`: more environment.
 */
export async function startRunwatch({ cpu, nodeArgs = [], echo = false, dataDir: givenDir, env: extraEnv = {} } = {}) {
		const snap = await snapshotDir();
		const dataDir = givenDir ?? mkdtempSync(join(tmpdir(), 'runwatch-bench-'));
		const removeDir = () => {
			if (!givenDir) rmSync(dataDir, { recursive: true, force: true });
		};
		const forget = atExit(removeDir);
		const port = await freePort();
		const token = randomBytes(16).toString('hex');
		const { child, output } = spawnNode([join(snap, 'server', 'index.js')], {
			cpu,
			cwd: root,
			label: 'runwatch',
			echo,
			// As `npm start` runs it.
			nodeArgs,
			env: {
				PORT: String(port),
				HOST: '127.0.0.1',
				RUNWATCH_DATA_DIR: dataDir,
				RUNWATCH_INGEST_TOKEN: token,
				// The load opens thousands of connections from 127.0.0.1, over the default 64 per
				// address. The rate limiter stays on (its cost is part of ingest) but never refuses.
				RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS: '1000000',
				RUNWATCH_INGEST_RATE: '100000000',
				NODE_ENV: 'production',
				...extraEnv
			}
		});
		const baseUrl = `http://127.0.0.1:${port}`;
		try {
			// With a viewer token the list needs one: a 401 then says the server is up.
			await waitForHttp(`${baseUrl}/api/executions?limit=1`, { child, output, okStatus: extraEnv.RUNWATCH_VIEWER_TOKEN ? 401 : 200 });
		} catch (error) {
			await stopChild(child, 1000);
			removeDir();
			forget();
			throw error;
		}
		return {
			pid: child.pid,
			baseUrl,
			wsUrl: `ws://127.0.0.1:${port}/api/ws`,
			token,
			output,
			async stop() {
				await stopChild(child, 20000);
				removeDir();
				forget();
			}
		};
}
