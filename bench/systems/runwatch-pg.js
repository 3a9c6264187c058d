// System under test: the same Runwatch build on PostgreSQL (DATABASE_URL), one node. Each start
// makes its own database (runwatch_bench_<random>) on the local PostgreSQL and drops it at stop.
// Admin connection: RUNWATCH_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres.
// PostgreSQL runs beside the server on the same cores (its CPU is not in "server CPU").
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { atExit } from '../lib/proc.js';
import { startRunwatch } from './runwatch.js';

const ADMIN_URL = process.env.RUNWATCH_BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(statement) {
	const sql = postgres(ADMIN_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
	try {
		await sql.unsafe(statement);
	} finally {
		await sql.end({ timeout: 1 });
	}
}

async function startOnPostgres(options = {}) {
	const name = `runwatch_bench_${randomBytes(6).toString('hex')}`;
	try {
		await admin(`CREATE DATABASE ${name}`);
	} catch (error) {
		throw new Error(`runwatch-pg needs PostgreSQL (${ADMIN_URL.replace(/\/\/[^@/]*@/, '//')}; set RUNWATCH_BENCH_PG_URL): ${error.message}`);
	}
	const drop = () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
	const forget = atExit(() => void drop());
	const url = new URL(ADMIN_URL);
	url.pathname = `/${name}`;
	let server;
	try {
		server = await startRunwatch({ ...options, env: { ...options.env, DATABASE_URL: url.toString() } });
	} catch (error) {
		await drop();
		forget();
		throw error;
	}
	return {
		...server,
		async stop() {
			await server.stop();
			await drop();
			forget();
		}
	};
}

export default {
	name: 'runwatch-pg',
	label: 'Runwatch on PostgreSQL (WebSocket)',
	kind: 'ws',
	storage: true,
	description: 'the built server with DATABASE_URL: one node on the local PostgreSQL',
	start: startOnPostgres
};
