// Where `npm run demo` sends, found the way the server finds its own settings (config.ts), so
// that a server started with PORT, HOST, RUNWATCH_DATA_DIR or RUNWATCH_INGEST_TOKEN in the same
// shell gets the demo without more flags. Plain JavaScript: scripts/demo.js runs with bare Node.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Hosts a server listens on for every interface: the demo reaches those over loopback. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {(file: string) => string} [readFile]
 * @returns {{ baseUrl: string, token: string, tokenFrom: string } | { error: string }}
 */
export function demoTarget(env, readFile = (file) => readFileSync(file, 'utf8')) {
	let baseUrl = env.RUNWATCH_URL?.trim();
	if (!baseUrl) {
		const rawHost = env.HOST?.trim() || '127.0.0.1';
		const host = WILDCARD_HOSTS.has(rawHost) ? '127.0.0.1' : rawHost.includes(':') && !rawHost.startsWith('[') ? `[${rawHost}]` : rawHost;
		baseUrl = `http://${host}:${env.PORT?.trim() || 3000}`;
	}
	baseUrl = baseUrl.replace(/\/+$/, '');
	const fromEnv = env.RUNWATCH_INGEST_TOKEN?.trim();
	if (fromEnv) return { baseUrl, token: fromEnv, tokenFrom: 'RUNWATCH_INGEST_TOKEN' };
	const file = join(resolve(env.RUNWATCH_DATA_DIR || './data'), 'ingest-token');
	let token = '';
	try {
		token = readFile(file).trim();
	} catch {
		// Reported below, with what to do.
	}
	if (!token) return { error: `No ingest token: set RUNWATCH_INGEST_TOKEN, or start the server once so that it writes ${file} (set RUNWATCH_DATA_DIR to the server's data directory).` };
	return { baseUrl, token, tokenFrom: file };
}
