// `npm run demo`: sends the demo agent's two executions (about a minute each) to a running
// Runwatch. Finds the server as the server finds its settings: RUNWATCH_URL, else HOST and PORT
// (default http://127.0.0.1:3000); the ingest token from RUNWATCH_INGEST_TOKEN, else the
// `ingest-token` file in RUNWATCH_DATA_DIR (default ./data). RUNWATCH_DEMO_SPEED=2 plays it twice as fast.
import { demoSpeed, startDemoAgent } from '../src/lib/server/demo/demo-agent.js';
import { demoTarget } from '../src/lib/server/demo/demo-target.js';

const target = demoTarget(process.env);
if ('error' in target) {
	console.error(target.error);
	process.exit(1);
}
const { baseUrl, token, tokenFrom } = target;
let speed;
try {
	speed = demoSpeed(process.env);
} catch (error) {
	console.error(error instanceof Error ? error.message : error);
	process.exit(1);
}
console.log(`Sending the demo agent's executions to ${baseUrl} (ingest token from ${tokenFrom}).`);

try {
	const { urls, done } = await startDemoAgent({ baseUrl, token, speed });
	console.log(`Demo agent is running (about ${Math.round(60 / speed)} s). Watch it live:`);
	for (const url of urls) console.log(`  ${url}`);
	await done;
	console.log('Demo finished: one execution completed, one failed.');
} catch (error) {
	const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
	console.error(`Demo failed: ${error instanceof Error ? error.message : error}${cause}`);
	console.error(`Is Runwatch running at ${baseUrl}? Start it with \`npm start\`, or set RUNWATCH_URL (or PORT).`);
	process.exit(1);
}
