import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { startCheckpoints, type Checkpoints } from './sqlite-checkpoints.js';

let dir: string | undefined;
let db: Database.Database | undefined;
let checkpoints: Checkpoints | undefined;

afterEach(async () => {
	await checkpoints?.stop();
	db?.close();
	if (dir) rmSync(dir, { recursive: true, force: true });
});

test('under writes that never pause, the WAL is made to start over: its file stays bounded', async () => {
	dir = mkdtempSync(join(tmpdir(), 'runwatch-wal-'));
	const file = join(dir, 'wal.sqlite');
	db = new Database(file);
	db.pragma('journal_mode = WAL');
	db.pragma('synchronous = NORMAL');
	db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
	checkpoints = startCheckpoints(db, file, { intervalMs: 5, walRestartPages: 500 });
	await checkpoints.ready;
	const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
	const commit = db.transaction(() => {
		for (let i = 0; i < 1000; i++) insert.run('z'.repeat(1000));
	});
	// About 100 MB of WAL written in 1 MB commits, one per turn of the event loop: a passive
	// checkpoint alone seldom finds a pause to let the WAL start over (it reached 42 MB of 60).
	let largestWal = 0;
	for (let n = 0; n < 64; n++) {
		commit();
		await new Promise((r) => setImmediate(r));
		largestWal = Math.max(largestWal, statSync(`${file}-wal`).size);
	}
	expect(checkpoints.restarts).toBeGreaterThan(0);
	// 500 pages is 2 MB, but a WAL that starts over keeps up to journal_size_limit (16 MB) of its
	// file; measured 10-13 MB. Generous: a busy machine may starve the worker for a while.
	expect(largestWal).toBeLessThan(32 * 1024 * 1024);
	expect((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(64_000);
}, 60_000);

test('a worker that cannot open the database leaves checkpoints to the main connection', async () => {
	db = new Database(':memory:');
	// The worker opens the file by name with fileMustExist: a path that is not there fails it.
	checkpoints = startCheckpoints(db, '/nonexistent/runwatch.sqlite', { intervalMs: 5 });
	await checkpoints.ready;
	await checkpoints.stop();
	expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
});
