import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ListQuery } from '../../protocol/api.js';
import type { StoredEvent } from '../../protocol/events.js';
import { applyEvent } from '../../protocol/reducer.js';
import { RunwatchError } from '../errors.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { rowWithState, storedJson, toExecution, toShare, toState, toStoredEvent, type ExecutionRow, type ShareRow } from './rows.js';
import type { AppendResult, CreateAndAppendResult, IngestResult, ListResult, NewExecution, PreparedEvent, Store, StoredRow } from './store.js';
import { fts5Query, searchWords } from './search.js';
import { startCheckpoints, type CheckpointOptions } from './sqlite-checkpoints.js';

/** An append waiting for the next group commit. */
interface PendingAppend {
	executionId: string;
	events: PreparedEvent[];
	resolve(result: AppendResult): void;
	reject(error: unknown): void;
	result?: AppendResult;
	error?: unknown;
}

/**
 * Events indexed per transaction when a search catches up: about 40 ms of work on the benchmark
 * machine (14,000 events/s), so a first search never holds the process for long at a time.
 */
const SEARCH_INDEX_CHUNK = 500;

export interface SqliteStoreOptions {
	/** Path of the database file, or ':memory:'. */
	file: string;
	/** WAL checkpoints in a worker thread (sqlite-checkpoints.ts); tests make them more frequent. */
	checkpoints?: CheckpointOptions;
}

/**
 * The embedded store. better-sqlite3 is synchronous, so each method runs its transaction to the
 * end before anything else in the process runs: seq assignment cannot interleave. Appends are
 * committed in groups, one transaction per turn of the event loop (`appendEvents`). WAL with
 * synchronous=NORMAL: a committed transaction survives a crash of the process (SIGKILL
 * included); only an operating-system crash or power cut can lose the last few. WAL checkpoints
 * run in a worker thread (sqlite-checkpoints.ts), not inside commits.
 */
export function createSqliteStore({ file, checkpoints: checkpointOptions }: SqliteStoreOptions): Store {
	if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
	const db = new Database(file);
	useIncrementalVacuum(db);
	db.pragma('journal_mode = WAL');
	db.pragma('synchronous = NORMAL');
	db.pragma('foreign_keys = ON');
	db.pragma('busy_timeout = 5000');
	migrate(db);
	const checkpoints = file === ':memory:' ? undefined : startCheckpoints(db, file, checkpointOptions);

	const q = {
		insertExecution: db.prepare(
			`INSERT INTO executions (id, agent_name, department_name, agent, department, metadata, created_at, updated_at, status)
			 VALUES (@id, @agentName, @departmentName, @agent, @department, @metadata, @createdAt, @createdAt, 'pending')
			 ON CONFLICT (id) DO NOTHING`
		),
		getExecution: db.prepare<[string], ExecutionRow>('SELECT * FROM executions WHERE id = ?'),
		// One JSON array parameter: no limit on how many ids (SQLite caps bound parameters).
		getExecutions: db.prepare<[string], ExecutionRow>('SELECT * FROM executions WHERE id IN (SELECT value FROM json_each(?))'),
		updateState: db.prepare(
			`UPDATE executions SET status = @status, started_at = @started_at, ended_at = @ended_at,
			   last_seq = @last_seq, input_tokens = @input_tokens, output_tokens = @output_tokens,
			   cost_usd = @cost_usd, error = @error, cancel_requested_at = @cancel_requested_at,
			   cancel_reason = @cancel_reason, updated_at = @updated_at
			 WHERE id = @id`
		),
		findEvent: db.prepare<[string, string], { seq: number }>(
			'SELECT seq FROM events WHERE execution_id = ? AND id = ?'
		),
		// A repeated event id inserts nothing (changes = 0): one statement per new event instead of
		// a look-up and an insert; the earlier seq is looked up only for actual duplicates.
		insertEvent: db.prepare(
			'INSERT INTO events (execution_id, seq, id, type, json) VALUES (?, ?, ?, ?, ?) ON CONFLICT (execution_id, id) DO NOTHING'
		),
		readEvents: db.prepare<[string, number, number], { seq: number; json: string }>(
			'SELECT seq, json FROM events WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?'
		),
		readBefore: db.prepare<[string, number, number], { seq: number; json: string }>(
			'SELECT seq, json FROM events WHERE execution_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?'
		),
		readTail: db.prepare<[string, number], { seq: number; json: string }>(
			'SELECT seq, json FROM events WHERE execution_id = ? ORDER BY seq DESC LIMIT ?'
		),
		insertShare: db.prepare(
			`INSERT INTO shares (id, execution_id, token_hash, created_at, expires_at)
			 VALUES (@id, @executionId, @tokenHash, @createdAt, @expiresAt)`
		),
		shareByHash: db.prepare<[string], ShareRow>('SELECT * FROM shares WHERE token_hash = ?'),
		shareById: db.prepare<[string], ShareRow>('SELECT * FROM shares WHERE id = ?'),
		listShares: db.prepare<[string], ShareRow>('SELECT * FROM shares WHERE execution_id = ? ORDER BY created_at DESC, id DESC'),
		revokeShare: db.prepare<[string, string, string]>(
			'UPDATE shares SET revoked_at = COALESCE(revoked_at, ?) WHERE execution_id = ? AND id = ?'
		),
		insertSession: db.prepare('INSERT INTO viewer_sessions (id, created_at, expires_at) VALUES (@id, @createdAt, @expiresAt)'),
		getSession: db.prepare<[string], { id: string; created_at: string; expires_at: string }>(
			'SELECT * FROM viewer_sessions WHERE id = ?'
		),
		deleteSession: db.prepare<[string]>('DELETE FROM viewer_sessions WHERE id = ?'),
		deleteExpiredSessions: db.prepare<[string]>('DELETE FROM viewer_sessions WHERE expires_at < ?'),
		// A chunk is a range of the primary key: the seq `limit` places below the newest, then
		// everything from there up. One index walk and one range delete.
		chunkEdge: db.prepare<[string, number], { seq: number }>(
			'SELECT seq FROM events WHERE execution_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?'
		),
		deleteEventsFrom: db.prepare('DELETE FROM events WHERE execution_id = ? AND seq >= ?'),
		deleteEvents: db.prepare('DELETE FROM events WHERE execution_id = ?'),
		deleteExecution: db.prepare('DELETE FROM executions WHERE id = ?'),
		searchFts: db.prepare<[string, string, number, number], { seq: number; json: string }>(
			`SELECT e.seq, e.json FROM events_fts f
			 JOIN event_search s ON s.doc = f.rowid
			 JOIN events e ON e.execution_id = s.execution_id AND e.seq = s.seq
			 WHERE events_fts MATCH ? AND s.execution_id = ? AND s.seq < ?
			 ORDER BY s.seq DESC LIMIT ?`
		),
		indexedUpTo: db.prepare<[string], { seq: number | null }>('SELECT MAX(seq) AS seq FROM event_search WHERE execution_id = ?'),
		indexMap: db.prepare<[string, number, number]>(
			'INSERT INTO event_search (execution_id, seq) SELECT execution_id, seq FROM events WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?'
		),
		// An event's text: every string and number in its JSON, one per line; keys are not text.
		indexText: db.prepare<[string, number]>(
			`INSERT INTO events_fts (rowid, text)
			 SELECT s.doc, (SELECT group_concat(value, char(10)) FROM json_tree(e.json) WHERE atom IS NOT NULL)
			 FROM event_search s JOIN events e ON e.execution_id = s.execution_id AND e.seq = s.seq
			 WHERE s.execution_id = ? AND s.seq > ?`
		),
		unindexFrom: db.prepare<[string, number]>(
			'DELETE FROM events_fts WHERE rowid IN (SELECT doc FROM event_search WHERE execution_id = ? AND seq >= ?)'
		),
		unmapFrom: db.prepare<[string, number]>('DELETE FROM event_search WHERE execution_id = ? AND seq >= ?'),
		agentNames: db.prepare<[number], { agent_name: string }>('SELECT DISTINCT agent_name FROM executions ORDER BY agent_name LIMIT ?'),
		usageSince: db.prepare<[string], { agent: string; runs: number; failed: number; input_tokens: number; output_tokens: number; cost_usd: number }>(
			`SELECT agent_name AS agent, COUNT(*) AS runs, SUM(status = 'failed') AS failed, SUM(input_tokens) AS input_tokens,
			   SUM(output_tokens) AS output_tokens, ROUND(SUM(cost_usd), 6) AS cost_usd
			 FROM executions WHERE created_at >= ? GROUP BY agent_name ORDER BY agent_name`
		),
		openSince: db.prepare<[string, number], ExecutionRow>(
			`SELECT * FROM executions WHERE created_at >= ? AND ended_at IS NULL ORDER BY created_at DESC, id DESC LIMIT ?`
		),
		endedBefore: db.prepare<[string, number], { id: string }>(
			`SELECT id FROM executions WHERE ended_at IS NOT NULL AND julianday(ended_at) < julianday(?)
			 ORDER BY julianday(ended_at) LIMIT ?`
		)
	};

	const deleteChunk = db.transaction((executionId: string, limit: number): number => {
		const edge = q.chunkEdge.get(executionId, limit - 1);
		const from = edge ? edge.seq : 0;
		q.unindexFrom.run(executionId, from);
		q.unmapFrom.run(executionId, from);
		return edge ? q.deleteEventsFrom.run(executionId, edge.seq).changes : q.deleteEvents.run(executionId).changes;
	});

	const deleteExecution = db.transaction((id: string): boolean => {
		q.unindexFrom.run(id, 0);
		q.unmapFrom.run(id, 0);
		q.deleteEvents.run(id);
		return q.deleteExecution.run(id).changes === 1;
	});

	/** Indexes up to `limit` not yet indexed events of one execution; returns how many. */
	const indexChunk = db.transaction((executionId: string, limit: number): number => {
		const from = q.indexedUpTo.get(executionId)?.seq ?? 0;
		const mapped = q.indexMap.run(executionId, from, limit).changes;
		if (mapped > 0) q.indexText.run(executionId, from);
		return mapped;
	});

	const freePages = () => db.pragma('freelist_count', { simple: true }) as number;

	const appendIn = (executionId: string, events: PreparedEvent[]): AppendResult => {
		const row = q.getExecution.get(executionId);
		if (!row) throw new RunwatchError('not_found', `No execution "${executionId}". Create it with POST /api/executions first.`);
		let state = toState(row);
		const stored: StoredEvent[] = [];
		const rows: StoredRow[] = [];
		const results: IngestResult[] = [];
		for (const event of events) {
			const seq = state.lastSeq + 1;
			const storedEvent = toStoredEvent(event, seq);
			// Serialised once (rows.ts: from the caller's JSON of the event when it has one).
			const json = storedJson(event, storedEvent);
			if (q.insertEvent.run(executionId, seq, event.id, event.type, json).changes === 0) {
				results.push({ id: event.id, seq: q.findEvent.get(executionId, event.id)!.seq, duplicate: true });
				continue;
			}
			state = applyEvent(state, storedEvent);
			stored.push(storedEvent);
			rows.push({ seq, json });
			results.push({ id: event.id, seq, duplicate: false });
		}
		if (stored.length === 0) return { stored, rows, results, execution: toExecution(row) };
		const after = rowWithState(row, state);
		q.updateState.run(after);
		return { stored, rows, results, execution: toExecution(after) };
	};
	const append = db.transaction(appendIn);

	const insertExecution = (input: NewExecution): boolean =>
		q.insertExecution.run({
			id: input.id,
			agentName: input.agent.name,
			departmentName: input.department?.name ?? null,
			agent: JSON.stringify(input.agent),
			department: input.department ? JSON.stringify(input.department) : null,
			metadata: JSON.stringify(input.metadata),
			createdAt: input.createdAt
		}).changes === 1;

	const createAndAppendMany = db.transaction(
		(items: readonly { execution: NewExecution; events: PreparedEvent[] }[]): CreateAndAppendResult[] =>
			items.map(({ execution, events }) => {
				const created = insertExecution(execution) ? toExecution(q.getExecution.get(execution.id)!) : undefined;
				return { created, ...appendIn(execution.id, events) };
			})
	);

	const parseRows = (rows: { json: string }[]): StoredEvent[] => rows.map((r) => JSON.parse(r.json));

	/**
	 * Group commit. Appends that arrive in one turn of the event loop (the requests whose bodies
	 * came in together) are committed in one transaction on the next turn, each inside its own
	 * savepoint (`append` nested in a transaction is one), so one that fails (an unknown
	 * execution) fails alone. A COMMIT costs as much as the rest of a small append: agents post
	 * small batches often, and many in flight share one. Each still resolves only after its
	 * commit; seq is assigned in arrival order, inside the write transaction, as before.
	 */
	let pendingAppends: PendingAppend[] = [];
	const appendGroup = db.transaction((group: PendingAppend[]) => {
		for (const job of group) {
			try {
				job.result = append(job.executionId, job.events);
			} catch (error) {
				job.error = error;
			}
		}
	});
	const flushAppends = () => {
		const group = pendingAppends;
		pendingAppends = [];
		if (group.length === 0) return;
		try {
			appendGroup.immediate(group);
		} catch (error) {
			// The commit itself failed: nothing of the group was stored.
			for (const job of group) job.reject(error);
			return;
		}
		for (const job of group) {
			if (job.result) job.resolve(job.result);
			else job.reject(job.error);
		}
	};

	return {
		kind: 'sqlite',

		async createExecution(input: NewExecution) {
			const created = insertExecution(input);
			const row = q.getExecution.get(input.id)!;
			return { execution: toExecution(row), created };
		},

		async getExecution(id) {
			const row = q.getExecution.get(id);
			return row ? toExecution(row) : undefined;
		},

		async getExecutions(ids) {
			if (ids.length === 0) return [];
			return q.getExecutions.all(JSON.stringify(ids)).map(toExecution);
		},

		async listExecutions(query: ListQuery): Promise<ListResult> {
			const where: string[] = [];
			const params: unknown[] = [];
			if (query.status) {
				where.push('status = ?');
				params.push(query.status);
			}
			if (query.agent) {
				where.push('agent_name = ?');
				params.push(query.agent);
			}
			if (query.department) {
				where.push('department_name = ?');
				params.push(query.department);
			}
			if (query.q) {
				const like = `%${query.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
				where.push(
					"(id LIKE ? ESCAPE '\\' OR agent_name LIKE ? ESCAPE '\\' OR department_name LIKE ? ESCAPE '\\' OR metadata LIKE ? ESCAPE '\\' OR error LIKE ? ESCAPE '\\')"
				);
				params.push(like, like, like, like, like);
			}
			if (query.cursor) {
				const cursor = decodeCursor(query.cursor);
				where.push('(created_at < ? OR (created_at = ? AND id < ?))');
				params.push(cursor.createdAt, cursor.createdAt, cursor.id);
			}
			const sql = `SELECT * FROM executions ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
				ORDER BY created_at DESC, id DESC LIMIT ?`;
			const rows = db.prepare<unknown[], ExecutionRow>(sql).all(...params, query.limit + 1);
			const page = rows.slice(0, query.limit).map(toExecution);
			const last = page.at(-1);
			const nextCursor = rows.length > query.limit && last ? encodeCursor(last.createdAt, last.id) : null;
			return { executions: page, nextCursor };
		},

		appendEvents(executionId, events) {
			return new Promise<AppendResult>((resolve, reject) => {
				if (pendingAppends.length === 0) setImmediate(flushAppends);
				pendingAppends.push({ executionId, events, resolve, reject });
			});
		},

		async createAndAppendMany(items) {
			return createAndAppendMany.immediate(items);
		},

		async readEvents(executionId, since, limit) {
			return parseRows(q.readEvents.all(executionId, since, limit));
		},

		async readEventsJson(executionId, since, limit) {
			return q.readEvents.all(executionId, since, limit);
		},

		async readBefore(executionId, before, limit) {
			return parseRows(q.readBefore.all(executionId, before, limit).reverse());
		},

		async searchEvents(executionId, query, { limit, before }) {
			const words = searchWords(query);
			if (words.length === 0) return [];
			// Events stored since the last search are indexed first, a chunk per transaction, letting
			// other work in between: one execution's first search may index 100,000 events.
			while (indexChunk.immediate(executionId, SEARCH_INDEX_CHUNK) === SEARCH_INDEX_CHUNK) {
				await new Promise((resolve) => setImmediate(resolve));
			}
			const rows = q.searchFts.all(fts5Query(words), executionId, before ?? Number.MAX_SAFE_INTEGER, limit);
			return parseRows(rows.reverse());
		},

		async listAgentNames(limit) {
			return q.agentNames.all(limit).map((row) => row.agent_name);
		},

		async usageSince(since) {
			return q.usageSince.all(since).map((row) => ({
				agent: row.agent,
				runs: row.runs,
				failed: row.failed,
				inputTokens: row.input_tokens,
				outputTokens: row.output_tokens,
				costUsd: row.cost_usd
			}));
		},

		async listOpenSince(since, limit) {
			return q.openSince.all(since, limit).map(toExecution);
		},

		async readTail(executionId, limit) {
			return parseRows(q.readTail.all(executionId, limit).reverse());
		},

		async createShare(share) {
			q.insertShare.run({ ...share, expiresAt: share.expiresAt ?? null });
		},

		async findShareByTokenHash(tokenHash) {
			const row = q.shareByHash.get(tokenHash);
			return row && toShare(row);
		},

		async getShare(id) {
			const row = q.shareById.get(id);
			return row && toShare(row);
		},

		async listShares(executionId) {
			return q.listShares.all(executionId).map(toShare);
		},

		async revokeShare(executionId, id, at) {
			return q.revokeShare.run(at, executionId, id).changes === 1;
		},

		async createViewerSession(session) {
			// Expired sessions are swept whenever a new one starts: sign-ins are rare, the table small.
			q.deleteExpiredSessions.run(new Date().toISOString());
			q.insertSession.run(session);
		},

		async getViewerSession(id) {
			const row = q.getSession.get(id);
			return row && { id: row.id, createdAt: row.created_at, expiresAt: row.expires_at };
		},

		async deleteViewerSession(id) {
			q.deleteSession.run(id);
		},

		async deleteExecution(id) {
			return deleteExecution.immediate(id);
		},

		async deleteEventsChunk(executionId, limit) {
			if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`deleteEventsChunk: limit must be a positive integer, got ${limit}`);
			return deleteChunk.immediate(executionId, limit);
		},

		async listEndedBefore(cutoff, limit) {
			return q.endedBefore.all(cutoff, limit).map((row) => row.id);
		},

		async reclaimSpace(maxPages) {
			const before = freePages();
			if (before === 0) return 0;
			// Moves up to maxPages pages from the end of the file into free ones and truncates it
			// (in WAL mode the file shrinks at the next checkpoint).
			db.pragma(`incremental_vacuum(${Math.max(1, Math.floor(maxPages))})`);
			const after = freePages();
			// Nothing given back (auto_vacuum is not incremental): stop, rather than loop.
			return after < before ? after : 0;
		},

		// Embedded: the database is this process; a closed store or an unreadable file is down.
		async ping() {
			if (!db.open) throw new RunwatchError('unavailable', 'The store is closed');
			db.prepare('SELECT 1 FROM executions LIMIT 1').get();
		},

		async close() {
			// Appends still waiting for their group commit are committed (or refused) first.
			if (db.open) flushAppends();
			await checkpoints?.stop();
			if (db.open) db.close();
		}
	};
}

/**
 * Deleted rows leave free pages that SQLite reuses but never gives back unless told to.
 * `auto_vacuum = INCREMENTAL` lets `reclaimSpace` give them back a few at a time
 * (`PRAGMA incremental_vacuum(N)`), which never blocks for long, unlike a full `VACUUM`. A new
 * database takes the setting at once; one created before it (Runwatch before retention) needs
 * one `VACUUM` to take it, which rewrites the file (as long as a full copy takes, and as much
 * free disk): done once, here, at startup.
 */
function useIncrementalVacuum(db: Database.Database): void {
	const INCREMENTAL = 2;
	if (db.pragma('auto_vacuum', { simple: true }) === INCREMENTAL) return;
	const isNew = db.pragma('page_count', { simple: true }) === 0;
	db.pragma('auto_vacuum = INCREMENTAL');
	if (isNew) return; // nothing to rewrite: the setting holds from the first table on
	console.log(`[runwatch] converting ${db.name} to incremental vacuum (one VACUUM, once; a large database takes a while)…`);
	const started = Date.now();
	db.exec('VACUUM');
	console.log(`[runwatch] converted in ${Date.now() - started} ms`);
}

function migrate(db: Database.Database): void {
	const version = db.pragma('user_version', { simple: true }) as number;
	if (version > SQLITE_MIGRATIONS.length) {
		throw new Error(
			`The database was written by a newer Runwatch (schema ${version}, this one knows ${SQLITE_MIGRATIONS.length}). Upgrade Runwatch.`
		);
	}
	// An existing database says so: some upgrades copy a table, which takes a while when it is big.
	const upgrading = version > 0 && version < SQLITE_MIGRATIONS.length;
	const started = Date.now();
	if (upgrading) console.log(`[runwatch] upgrading ${db.name} from schema ${version} to ${SQLITE_MIGRATIONS.length}…`);
	for (let v = version; v < SQLITE_MIGRATIONS.length; v++) {
		db.transaction(() => {
			// Read again under the write lock: another process starting on the same file at the
			// same moment (several nodes on one data dir) may have applied it meanwhile.
			if ((db.pragma('user_version', { simple: true }) as number) > v) return;
			db.exec(SQLITE_MIGRATIONS[v]!);
			db.pragma(`user_version = ${v + 1}`);
		}).immediate();
	}
	if (upgrading) console.log(`[runwatch] upgraded in ${Date.now() - started} ms`);
}
