// System under test: three Runwatch nodes (the same build) on one PostgreSQL database and one
// Redis, as docs/scaling.md deploys them, minus the balancer (the load spreads itself over the
// nodes). Each start makes a fresh database (runwatch_bench_<random>, dropped at stop) on the
// local PostgreSQL (RUNWATCH_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres)
// and runs its own redis-server on a free port (RUNWATCH_BENCH_REDIS_SERVER, default
// `redis-server`), so that the cluster scenario can stop and start it. The nodes share the
// server core; PostgreSQL and Redis run where the OS puts them (their CPU is measured apart).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { atExit, freePort, processCpu } from '../lib/proc.js';
import { startRunwatch } from './runwatch.js';

const ADMIN_URL = process.env.RUNWATCH_BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_SERVER = process.env.RUNWATCH_BENCH_REDIS_SERVER || 'redis-server';
export const CLUSTER_NODES = 3;

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Sends one inline command to Redis, resolves with the raw reply (or undefined if it does not answer). */
function redisCommand(port, command, timeoutMs = 500) {
	return new Promise((resolve) => {
		const socket = net.createConnection({ host: '127.0.0.1', port });
		let reply = '';
		const done = (value) => {
			socket.destroy();
			resolve(value);
		};
		socket.setTimeout(timeoutMs, () => done(undefined));
		socket.once('connect', () => socket.write(`${command}\r\n`));
		socket.on('data', (d) => {
			reply += d.toString();
			// Bulk string: $<len>\r\n<body>\r\n. Simple replies end at the first \r\n.
			const m = /^\$(\d+)\r\n/.exec(reply);
			if (m ? Buffer.byteLength(reply) >= m[0].length + Number(m[1]) + 2 : reply.endsWith('\r\n')) done(reply);
		});
		socket.once('error', () => done(undefined));
	});
}

/** A throwaway redis-server (no persistence) on a free port that can be stopped and started again. */
async function startRedis() {
	const port = await freePort();
	const dir = mkdtempSync(join(tmpdir(), 'runwatch-bench-redis-'));
	let child;
	const kill = () => {
		try {
			child?.kill('SIGKILL');
		} catch {
			// gone
		}
	};
	const forget = atExit(() => {
		kill();
		rmSync(dir, { recursive: true, force: true });
	});
	const redis = {
		port,
		url: `redis://127.0.0.1:${port}`,
		get pid() {
			return child?.pid;
		},
		/** Starts it on its port; resolves at the CLOCK_MONOTONIC µs it first answered PING. */
		async start() {
			child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
			const spawned = child;
			const failed = new Promise((_, reject) => spawned.once('error', (e) => reject(new Error(`cluster needs ${REDIS_SERVER} (RUNWATCH_BENCH_REDIS_SERVER): ${e.message}`))));
			failed.catch(() => {});
			const deadline = Date.now() + 10000;
			for (;;) {
				const reply = await Promise.race([redisCommand(port, 'PING', 200), failed]);
				if (reply?.startsWith('+PONG')) return nowUs();
				if (spawned.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${spawned.exitCode}`);
				if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within 10 s`);
				await sleep(5);
			}
		},
		/** SIGKILL, as in a crash: every connection drops at once. */
		async stop() {
			const c = child;
			if (!c || c.exitCode !== null || c.signalCode !== null) return;
			const exited = new Promise((r) => c.once('exit', r));
			c.kill('SIGKILL');
			await exited;
		},
		/** INFO fields as numbers (e.g. total_net_input_bytes), and CLIENT LIST's count. */
		async info() {
			const text = (await redisCommand(port, 'INFO', 2000)) ?? '';
			const out = {};
			for (const line of text.split('\r\n')) {
				const m = /^(\w+):(\d+)$/.exec(line);
				if (m) out[m[1]] = Number(m[2]);
			}
			return out;
		},
		async cleanup() {
			await redis.stop();
			rmSync(dir, { recursive: true, force: true });
			forget();
		}
	};
	await redis.start();
	return redis;
}

async function startCluster(options = {}) {
	const name = `runwatch_bench_${randomBytes(6).toString('hex')}`;
	const admin = postgres(ADMIN_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
	try {
		await admin.unsafe(`CREATE DATABASE ${name}`);
	} catch (error) {
		await admin.end({ timeout: 1 });
		throw new Error(`runwatch-cluster needs PostgreSQL (${ADMIN_URL.replace(/\/\/[^@/]*@/, '//')}; set RUNWATCH_BENCH_PG_URL): ${error.message}`);
	}
	const dropDb = async () => {
		await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
		await admin.end({ timeout: 1 }).catch(() => {});
	};
	// At an abrupt exit the admin connection may be gone: a fresh one drops the database.
	const forgetDb = atExit(() => {
		const sql = postgres(ADMIN_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
		void sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => sql.end({ timeout: 1 }));
	});
	let redis;
	const nodes = [];
	try {
		redis = await startRedis();
		const url = new URL(ADMIN_URL);
		url.pathname = `/${name}`;
		const token = randomBytes(16).toString('hex');
		const env = {
			...options.env,
			DATABASE_URL: url.toString(),
			REDIS_URL: redis.url,
			RUNWATCH_REDIS_PREFIX: `${name}:`,
			RUNWATCH_INGEST_TOKEN: token
		};
		// All at once, as a deployment restarts: the migration lock makes one of them migrate.
		const started = await Promise.allSettled(Array.from({ length: CLUSTER_NODES }, () => startRunwatch({ ...options, env })));
		for (const s of started) if (s.status === 'fulfilled') nodes.push({ ...s.value, token });
		const failed = started.find((s) => s.status === 'rejected');
		if (failed) throw failed.reason;
	} catch (error) {
		await Promise.all(nodes.map((n) => n.stop()));
		await redis?.cleanup();
		await dropDb();
		forgetDb();
		throw error;
	}

	/** Backend pids of this database plus PostgreSQL's own background processes (WAL writer, checkpointer…). */
	const pgPids = async () =>
		(
			await admin`SELECT pid FROM pg_stat_activity
				WHERE pid <> pg_backend_pid() AND (datname = ${name} OR backend_type <> 'client backend')`
		).map((r) => r.pid);

	return {
		...nodes[0],
		nodes,
		redis,
		database: name,
		output: () => nodes.map((n, i) => `[node ${i}]\n${n.output()}`).join('\n'),
		/** CPU seconds of PostgreSQL (see pgPids), keyed by pid, and of redis-server. */
		async serviceCpu() {
			const pg = new Map();
			for (const pid of await pgPids()) {
				const c = processCpu(pid);
				if (c) pg.set(pid, c.total);
			}
			return { pg, redis: redis.pid ? processCpu(redis.pid)?.total : undefined };
		},
		/** Commits and rows written in this database so far, and connections the nodes hold. */
		async pgStats() {
			const [db] = await admin`SELECT xact_commit::float8 AS commits, tup_inserted::float8 AS inserted, tup_updated::float8 AS updated
				FROM pg_stat_database WHERE datname = ${name}`;
			const [conns] = await admin`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${name} AND pid <> pg_backend_pid()`;
			return { ...db, connections: conns.n };
		},
		async stop() {
			await Promise.all(nodes.map((n) => n.stop()));
			await redis.cleanup();
			await dropDb();
			forgetDb();
		}
	};
}

export default {
	name: 'runwatch-cluster',
	label: 'Runwatch, 3 nodes on PostgreSQL + Redis',
	kind: 'ws',
	storage: true,
	description: '(cluster scenario only) 3 nodes of the built server on a fresh PostgreSQL database and their own redis-server',
	start: startCluster
};
