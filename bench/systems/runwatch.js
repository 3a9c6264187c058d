// System under test: the real Runwatch production build (server/index.js over build/), started
// in its own process with a fresh temporary data directory.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { atExit, freePort, spawnNode, stopChild, waitForHttp } from '../lib/proc.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

export default {
	name: 'runwatch',
	label: 'Runwatch',
	description: 'the built server (SvelteKit + SQLite + hub), batched frames per tick',

	/** Starts one server. Returns what the load needs to reach it, and stop(). */
	async start({ cpu, nodeArgs = [], echo = false } = {}) {
		if (!existsSync(join(root, 'build', 'handler.js'))) {
			throw new Error('No production build: run `npm run build` first.');
		}
		const dataDir = mkdtempSync(join(tmpdir(), 'runwatch-bench-'));
		const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
		const forget = atExit(removeDir);
		const port = await freePort();
		const token = randomBytes(16).toString('hex');
		const { child, output } = spawnNode([join(root, 'server', 'index.js')], {
			cpu,
			cwd: root,
			label: 'runwatch',
			echo,
			nodeArgs,
			env: {
				PORT: String(port),
				HOST: '127.0.0.1',
				RUNWATCH_DATA_DIR: dataDir,
				RUNWATCH_INGEST_TOKEN: token,
				NODE_ENV: 'production'
			}
		});
		const baseUrl = `http://127.0.0.1:${port}`;
		try {
			await waitForHttp(`${baseUrl}/api/executions?limit=1`, { child, output });
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
};
