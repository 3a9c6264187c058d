// `npm run demo`: sends the demo agent's executions to a running Runwatch.
// Reads RUNWATCH_URL (default http://127.0.0.1:$PORT or :3000) and the ingest token from
// RUNWATCH_INGEST_TOKEN or the token file in RUNWATCH_DATA_DIR (default ./data).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDemoAgent } from '../src/lib/server/demo/demo-agent.js';

const baseUrl = process.env.RUNWATCH_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`;
let token = process.env.RUNWATCH_INGEST_TOKEN;
if (!token) {
	const file = join(resolve(process.env.RUNWATCH_DATA_DIR ?? './data'), 'ingest-token');
	try {
		token = readFileSync(file, 'utf8').trim();
	} catch {
		console.error(`No ingest token: set RUNWATCH_INGEST_TOKEN, or start the server once so that it writes ${file}.`);
		process.exit(1);
	}
}

try {
	const { urls, done } = await startDemoAgent({ baseUrl, token });
	console.log('Demo agent is running. Watch it live:');
	for (const url of urls) console.log(`  ${url}`);
	await done;
	console.log('Demo finished: one execution completed, one failed.');
} catch (error) {
	const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
	console.error(`Demo failed: ${error instanceof Error ? error.message : error}${cause}`);
	console.error(`Is Runwatch running at ${baseUrl}? Start it with \`npm start\`, or set RUNWATCH_URL.`);
	process.exit(1);
}
