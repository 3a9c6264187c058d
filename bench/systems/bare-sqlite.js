// Floor system for ingest: a bare Node `http` server doing one better-sqlite3 transaction per
// request, what storing a POSTed event costs with nothing else around it (issue 11, "One node
// cheaper first"). No validation beyond JSON.parse, no fan-out, no access rules, no framework;
// the same SQLite settings as Runwatch (WAL, synchronous=NORMAL) and the same kind of rows
// (execution row with last_seq, one row per event with its JSON, unique (execution, event id)).
//
// Run directly (`node bench/systems/bare-sqlite.js`, env PORT, BENCH_TOKEN, BENCH_DB) it IS that
// server; imported, it is the system descriptor that starts it in a child process.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { exitWithParent, startPeer } from '../lib/peer-server.js';

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;

export default {
	name: 'bare-sqlite',
	label: 'bare http + SQLite',
	kind: 'none',
	storage: true,
	description: 'bare Node http server, one better-sqlite3 transaction per POST (the ingest floor)',
	async start(options) {
		const dir = mkdtempSync(join(tmpdir(), 'runwatch-bench-bare-'));
		const peer = await startPeer({ ...options, file: fileURLToPath(import.meta.url), label: 'bare-sqlite', wsPath: '/', env: { BENCH_DB: join(dir, 'bare.sqlite') } });
		return {
			...peer,
			async stop() {
				await peer.stop();
				rmSync(dir, { recursive: true, force: true });
			}
		};
	}
};

async function runServer() {
	const { default: Database } = await import('better-sqlite3');
	const db = new Database(process.env.BENCH_DB);
	db.pragma('journal_mode = WAL');
	db.pragma('synchronous = NORMAL');
	db.exec(`
		CREATE TABLE executions (id TEXT PRIMARY KEY, agent TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0, updated_at TEXT);
		CREATE TABLE events (execution_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, json TEXT NOT NULL,
			PRIMARY KEY (execution_id, seq), UNIQUE (execution_id, id)) WITHOUT ROWID;`);
	const insertExecution = db.prepare('INSERT OR IGNORE INTO executions (id, agent) VALUES (?, ?)');
	const lastSeq = db.prepare('SELECT last_seq FROM executions WHERE id = ?').pluck();
	const insertEvent = db.prepare('INSERT OR IGNORE INTO events (execution_id, seq, id, type, json) VALUES (?, ?, ?, ?, ?)');
	const updateSeq = db.prepare('UPDATE executions SET last_seq = ?, updated_at = ? WHERE id = ?');
	const append = db.transaction((executionId, inputs) => {
		let seq = lastSeq.get(executionId);
		if (seq === undefined) return undefined;
		const ts = new Date().toISOString();
		let accepted = 0;
		for (const input of inputs) {
			const id = input.id ?? randomUUID();
			const json = JSON.stringify({ seq: seq + 1, id, type: input.type, ts: input.ts ?? ts, data: input.data });
			if (insertEvent.run(executionId, seq + 1, id, String(input.type), json).changes === 1) {
				seq++;
				accepted++;
			}
		}
		updateSeq.run(seq, ts, executionId);
		return { accepted, lastSeq: seq };
	});

	const token = `Bearer ${process.env.BENCH_TOKEN}`;
	const EVENTS_PATH = /^\/api\/executions\/([A-Za-z0-9_-]{1,64})\/events$/;
	const send = (res, status, body) => {
		const text = JSON.stringify(body);
		res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
		res.end(text);
	};
	const server = http.createServer((req, res) => {
		if (req.method === 'GET' && req.url === '/health') return send(res, 200, { ok: true });
		if (req.method !== 'POST') return send(res, 404, { error: { code: 'not_found', message: 'no' } });
		if (req.headers.authorization !== token) return send(res, 401, { error: { code: 'unauthorized', message: 'token' } });
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			try {
				const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
				if (req.url === '/api/executions') {
					const id = body.id ?? randomBytes(16).toString('base64url');
					insertExecution.run(id, JSON.stringify(body.agent ?? {}));
					return send(res, 201, { id });
				}
				const m = EVENTS_PATH.exec(req.url ?? '');
				if (!m) return send(res, 404, { error: { code: 'not_found', message: 'no' } });
				const result = append(m[1], Array.isArray(body.events) ? body.events : [body]);
				if (!result) return send(res, 404, { error: { code: 'not_found', message: 'no execution' } });
				send(res, 200, result);
			} catch (error) {
				send(res, 400, { error: { code: 'bad_request', message: String(error?.message ?? error) } });
			}
		});
	});
	server.listen(Number(process.env.PORT), '127.0.0.1');
	exitWithParent(() => {
		server.closeAllConnections?.();
		db.close();
		process.exit(0);
	});
}

if (isMain) await runServer();
