// `npm run cluster`: several Runwatch nodes on one PostgreSQL and one Redis, behind a local nginx
// that balances round-robin with no stickiness: the deployment docs/scaling.md describes, on one
// machine, for trying it by hand (kill a node, restart Redis, watch the page stay live).
//
//   npm run build
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/runwatch REDIS_URL=redis://127.0.0.1:6379 npm run cluster -- --nodes 3
//
// Options: --nodes N (default 3), --port P (nginx, default 8080), --node-port P (first node,
// default 3101). Everything it writes (node data dirs, the nginx config and logs) goes to
// ./data/cluster. Ctrl-C stops the nodes (SIGTERM: they drain) and nginx.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { clusterNginxConfig, clusterNodeEnv } from './lib/cluster-nginx.js';

const root = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
	options: {
		nodes: { type: 'string', default: '3' },
		port: { type: 'string', default: '8080' },
		'node-port': { type: 'string', default: '3101' },
		help: { type: 'boolean', short: 'h' }
	}
});
if (args.help) {
	console.log('DATABASE_URL=postgres://… REDIS_URL=redis://… npm run cluster -- [--nodes 3] [--port 8080] [--node-port 3101]');
	process.exit(0);
}

const nodes = Number(args.nodes);
const port = Number(args.port);
const firstNodePort = Number(args['node-port']);
if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16) fail('--nodes must be a whole number from 1 to 16');
for (const [name, value] of [['--port', port], ['--node-port', firstNodePort]]) {
	if (!Number.isInteger(value) || value < 1 || value > 65535) fail(`${name} must be a port number`);
}

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
if (!databaseUrl) {
	fail(
		'Set DATABASE_URL to the PostgreSQL database the nodes share, e.g.\n' +
			'  createdb runwatch   # or: psql -c "create database runwatch"\n' +
			'  DATABASE_URL=postgres://postgres@127.0.0.1:5432/runwatch npm run cluster'
	);
}
const buildDir = process.env.RUNWATCH_BUILD_DIR ? resolve(process.env.RUNWATCH_BUILD_DIR) : join(root, 'build');
if (!existsSync(join(buildDir, 'handler.js'))) fail(`No production build in ${buildDir}: run \`npm run build\` first.`);
const nginx = findNginx();
if (!nginx) fail('nginx not found (looked at $NGINX_PATH, PATH and /usr/sbin): install it with `sudo apt-get install nginx`.');

const dir = resolve(process.env.RUNWATCH_DATA_DIR ?? join(root, 'data'), 'cluster');
mkdirSync(join(dir, 'nginx'), { recursive: true });
// One ingest token for every node: an agent may reach any of them.
const tokenFile = join(dir, 'ingest-token');
const token =
	process.env.RUNWATCH_INGEST_TOKEN ??
	(existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : writeToken(tokenFile, `rw_${randomBytes(24).toString('base64url')}`));
const origin = `http://127.0.0.1:${port}`;

/** @type {Map<number, import('node:child_process').ChildProcess>} */
const children = new Map();
let stopping = false;

for (let i = 0; i < nodes; i++) startNode(i);
const nginxDir = join(dir, 'nginx');
writeFileSync(
	join(nginxDir, 'nginx.conf'),
	clusterNginxConfig({ dir: nginxDir, port, upstreamPorts: Array.from({ length: nodes }, (_, i) => firstNodePort + i) })
);
const check = spawnSync(nginx, ['-t', '-q', '-p', nginxDir, '-c', join(nginxDir, 'nginx.conf'), '-e', join(nginxDir, 'error.log')], {
	encoding: 'utf8'
});
if (check.status !== 0) fail(`nginx rejected the generated config (${join(nginxDir, 'nginx.conf')}):\n${check.stderr}`);
const proxy = spawn(nginx, ['-p', nginxDir, '-c', join(nginxDir, 'nginx.conf'), '-e', join(nginxDir, 'error.log')], {
	stdio: ['ignore', 'inherit', 'inherit']
});
proxy.on('exit', (code, signal) => {
	if (!stopping) {
		console.error(`[nginx] exited (${signal ?? code}); see ${join(nginxDir, 'error.log')}`);
		stop(1);
	}
});

console.log(
	[
		'',
		`Runwatch cluster: ${nodes} node(s) behind nginx at ${origin}`,
		`  PostgreSQL: ${redact(databaseUrl)}`,
		`  Redis:      ${redact(redisUrl)}`,
		`  nodes:      ${Array.from({ length: nodes }, (_, i) => `127.0.0.1:${firstNodePort + i}`).join(', ')}`,
		`  ingest token (in ${tokenFile}): ${token}`,
		`    (the nodes' "Send a first execution" lines read it from your shell: export RUNWATCH_INGEST_TOKEN=${token})`,
		`  try: kill -9 a node's pid (printed as it starts) and watch ${origin} stay live; Ctrl-C stops everything.`,
		''
	].join('\n')
);

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

/** @param {number} i */
function startNode(i) {
	const nodePort = firstNodePort + i;
	const child = spawn(process.execPath, [join(root, 'server/index.js')], {
		cwd: root,
		env: {
			...process.env,
			...clusterNodeEnv({ port: nodePort, origin, databaseUrl: /** @type {string} */ (databaseUrl), redisUrl, token, dataDir: join(dir, `node-${i + 1}`) })
		},
		stdio: ['ignore', 'pipe', 'pipe']
	});
	children.set(i, child);
	console.log(`[node ${i + 1}] pid ${child.pid}, port ${nodePort}`);
	const prefix = (/** @type {Buffer} */ chunk) =>
		chunk
			.toString()
			.split('\n')
			.filter((line) => line.length > 0)
			.map((line) => `[node ${i + 1}] ${line}`)
			.join('\n') + '\n';
	child.stdout.on('data', (chunk) => process.stdout.write(prefix(chunk)));
	child.stderr.on('data', (chunk) => process.stderr.write(prefix(chunk)));
	child.on('exit', (code, signal) => {
		children.delete(i);
		if (stopping) return;
		console.log(`[node ${i + 1}] exited (${signal ?? `code ${code}`}); restarting it in 2 s (nginx sends its traffic elsewhere meanwhile)`);
		setTimeout(() => !stopping && startNode(i), 2000);
	});
}

/** @param {number} code */
function stop(code) {
	if (stopping) return;
	stopping = true;
	console.log('\nStopping: nodes drain (SIGTERM), then nginx.');
	for (const child of children.values()) child.kill('SIGTERM');
	const waitNodes = () => {
		if (children.size > 0) return setTimeout(waitNodes, 100);
		proxy.kill('SIGQUIT');
		proxy.once('exit', () => process.exit(code));
		setTimeout(() => process.exit(code), 3000).unref();
	};
	waitNodes();
}

/** @param {string} file @param {string} value */
function writeToken(file, value) {
	writeFileSync(file, value + '\n', { mode: 0o600 });
	return value;
}

/** @param {string} url */
function redact(url) {
	try {
		const u = new URL(url);
		if (u.password) u.password = '***';
		return u.toString();
	} catch {
		return url;
	}
}

function findNginx() {
	if (process.env.NGINX_PATH) return existsSync(process.env.NGINX_PATH) ? process.env.NGINX_PATH : undefined;
	const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin'];
	return dirs.map((d) => d && join(d, 'nginx')).find((p) => p && existsSync(p));
}

/** @param {string} message @returns {never} */
function fail(message) {
	console.error(`npm run cluster: ${message}`);
	process.exit(1);
}
