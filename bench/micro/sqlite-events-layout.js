// In-process micro-benchmark of the SQLite events table's two layouts, the one before migration 7
// (WITHOUT ROWID, whole rows in the (execution_id, seq) B-tree) and the one after (a rowid table
// with unique indexes on (execution_id, seq) and (execution_id, id)), on rows shaped like the
// OTLP scenario's: traces of 41 events (every fourth ~1.3 KB, the rest ~300 B) under random
// 32-hex execution ids, 25 traces per transaction, as one OTLP export is stored. Same pragmas as
// the server (WAL, synchronous=NORMAL, no automatic checkpoints: the server checkpoints in a
// worker). Prints µs per event and WAL bytes per event for each layout, alternating, per round.
//
//   node bench/micro/sqlite-events-layout.js [--traces 2000] [--rounds 3]
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({ options: { traces: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '3' } } });
const traces = Number(opts.traces);
const rounds = Number(opts.rounds);

const LAYOUTS = {
	'WITHOUT ROWID (before)': `CREATE TABLE events (execution_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL,
		json TEXT NOT NULL, PRIMARY KEY (execution_id, seq)) WITHOUT ROWID;
		CREATE UNIQUE INDEX events_by_id ON events (execution_id, id);`,
	'rowid (migration 7)': `CREATE TABLE events (execution_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL,
		json TEXT NOT NULL);
		CREATE UNIQUE INDEX events_by_seq ON events (execution_id, seq);
		CREATE UNIQUE INDEX events_by_id ON events (execution_id, id);`
};

// Repeatable ids, the same in every round and layout.
let counter = 0;
const hex = (length) => createHash('sha256').update(String(counter++)).digest('hex').slice(0, length);
const data = (chars) => JSON.stringify({ name: 'chat', kind: 'llm', input: [{ role: 'user', parts: [{ type: 'text', content: 'x'.repeat(chars) }] }], attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' } });
const exports = [];
for (let r = 0; r < traces / 25; r++) {
	const items = [];
	for (let t = 0; t < 25; t++) {
		const executionId = hex(32);
		const events = Array.from({ length: 41 }, (_, i) => ({ id: `otel-${hex(16)}-${i % 2 ? 'end' : 'start'}`, type: i % 2 ? 'step-end' : 'step-start', json: data(i % 4 === 0 ? 1200 : 200) }));
		items.push({ executionId, events });
	}
	exports.push(items);
}
const eventCount = exports.length * 25 * 41;

function run(schema) {
	const dir = mkdtempSync(join(tmpdir(), 'runwatch-layout-'));
	const file = join(dir, 'events.sqlite');
	try {
		const db = new Database(file);
		db.pragma('journal_mode = WAL');
		db.pragma('synchronous = NORMAL');
		db.pragma('wal_autocheckpoint = 0');
		db.exec(schema);
		const insert = db.prepare('INSERT INTO events (execution_id, seq, id, type, json) VALUES (?, ?, ?, ?, ?) ON CONFLICT (execution_id, id) DO NOTHING');
		const store = db.transaction((items) => {
			for (const { executionId, events } of items) events.forEach((event, i) => insert.run(executionId, i + 1, event.id, event.type, event.json));
		});
		const started = process.hrtime.bigint();
		for (const items of exports) store(items);
		const us = Number(process.hrtime.bigint() - started) / 1000;
		const walBytes = statSync(`${file}-wal`).size;
		db.close();
		return { usPerEvent: us / eventCount, walBytesPerEvent: walBytes / eventCount };
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

console.log(`${eventCount.toLocaleString('en-US')} events in ${exports.length} transactions of 25 traces × 41 events, ${rounds} round(s)`);
for (let round = 1; round <= rounds; round++) {
	for (const [name, schema] of Object.entries(LAYOUTS)) {
		const { usPerEvent, walBytesPerEvent } = run(schema);
		console.log(`round ${round}  ${name.padEnd(24)} ${usPerEvent.toFixed(2).padStart(6)} µs/event  ${(walBytesPerEvent / 1024).toFixed(2)} KiB of WAL/event`);
	}
}
