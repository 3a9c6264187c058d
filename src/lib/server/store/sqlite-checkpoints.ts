import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints, off the main thread. SQLite's automatic checkpoint runs inside the commit
 * that crosses 1,000 WAL pages: it copies those pages into the database file and waits for two
 * fsyncs, holding the event loop (and every viewer) for tens of milliseconds at a time. On the
 * benchmark machine that was a third of the time of a heavy ingest (`npm run bench -- --scenario
 * otlp`). Here the main connection never checkpoints; a worker thread with its own connection
 * runs PASSIVE checkpoints, which never block the writer.
 *
 * Under writes that never pause, a passive checkpoint never catches up with the last commit, and
 * the WAL, which only starts over once everything in it is copied, would grow without end. When
 * it holds `walRestartPages`, the worker pauses and the main thread runs one RESTART checkpoint
 * between two of its commits (a RESTART from the worker would wait for a pause in the writes
 * that never comes): little is left to copy by then, and the next commit starts the WAL from its
 * beginning; `journal_size_limit` then gives the file's space back.
 */
export interface CheckpointOptions {
	/** How often the worker checkpoints what has been committed since. */
	intervalMs?: number;
	/** WAL pages (4 KiB each) past which the worker makes the WAL start over. */
	walRestartPages?: number;
}

export const CHECKPOINT_INTERVAL_MS = 200;
/** 64 MiB of WAL at SQLite's 4 KiB pages. */
export const WAL_RESTART_PAGES = 16_384;
/** What a WAL file that has started over is cut back to. */
const WAL_KEEP_BYTES = 16 * 1024 * 1024;

export interface Checkpoints {
	/** Settles once the worker has its connection (or has failed: the main thread checkpoints then). */
	readonly ready: Promise<void>;
	/** How many times the WAL was made to start over (for tests). */
	readonly restarts: number;
	/** Stops the worker and closes its connection (before the main connection closes). */
	stop(): Promise<void>;
}

// The worker's code, run from a string: the server is bundled, and a string needs no file of
// its own beside the bundle. It loads the same better-sqlite3 as the main thread.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
parentPort.postMessage({ ready: true });
let timer;
const tick = () => {
	try {
		const [result] = db.pragma('wal_checkpoint(PASSIVE)');
		if (result && result.log >= workerData.walRestartPages) {
			parentPort.postMessage({ restart: true }); // the main thread answers 'resume'
			return;
		}
	} catch (error) {
		parentPort.postMessage({ error: String((error && error.message) || error) });
	}
	timer = setTimeout(tick, workerData.intervalMs);
};
parentPort.on('message', (message) => {
	if (message === 'resume') timer = setTimeout(tick, workerData.intervalMs);
	if (message !== 'stop') return;
	clearTimeout(timer);
	db.close();
	parentPort.postMessage({ stopped: true });
	parentPort.close();
});
timer = setTimeout(tick, workerData.intervalMs);
`;

/**
 * Turns the main connection's automatic checkpoints off and starts the worker. If the worker
 * cannot start, the main connection keeps checkpointing itself, as SQLite does by default.
 */
export function startCheckpoints(db: Database.Database, file: string, options: CheckpointOptions = {}): Checkpoints {
	db.pragma(`journal_size_limit = ${WAL_KEEP_BYTES}`);
	const fallBack = (why: string) => {
		console.warn(`[runwatch] WAL checkpoints run on the main thread (${why})`);
		if (db.open) db.pragma('wal_autocheckpoint = 1000');
	};
	let worker: Worker;
	try {
		worker = new Worker(WORKER_SOURCE, {
			eval: true,
			workerData: {
				driver: createRequire(import.meta.url).resolve('better-sqlite3'),
				file,
				intervalMs: options.intervalMs ?? CHECKPOINT_INTERVAL_MS,
				walRestartPages: options.walRestartPages ?? WAL_RESTART_PAGES
			}
		});
	} catch (error) {
		fallBack((error as Error).message);
		return { ready: Promise.resolve(), restarts: 0, stop: async () => {} };
	}
	db.pragma('wal_autocheckpoint = 0');
	worker.unref(); // it never keeps the process alive
	let reported = false;
	let restarts = 0;
	let isReady: () => void;
	const ready = new Promise<void>((resolve) => (isReady = resolve));
	worker.on('message', (message: { error?: string; restart?: boolean; ready?: boolean }) => {
		if (message.ready) isReady();
		if (message.restart) {
			try {
				if (db.open) db.pragma('wal_checkpoint(RESTART)');
				restarts++;
			} catch (error) {
				message.error = (error as Error).message;
			}
			worker.postMessage('resume');
		}
		// A failed checkpoint is tried again at the next tick; say so once, not every 200 ms.
		if (message.error && !reported) {
			reported = true;
			console.warn(`[runwatch] a WAL checkpoint failed (retrying): ${message.error}`);
		}
	});
	let exited = false;
	const exit = new Promise<void>((resolve) => worker.once('exit', () => ((exited = true), isReady(), resolve())));
	worker.once('error', (error) => fallBack(`the checkpoint worker failed: ${error.message}`));
	return {
		ready,
		get restarts() {
			return restarts;
		},
		async stop() {
			if (exited) return;
			worker.postMessage('stop');
			// A worker stuck in a checkpoint still ends: terminate() after a grace period.
			const timer = setTimeout(() => void worker.terminate(), 5000);
			await exit;
			clearTimeout(timer);
		}
	};
}
