import postgres from 'postgres';
import type { ListQuery } from '../../protocol/api.js';
import type { StoredEvent } from '../../protocol/events.js';
import { PG_CONNECT_TIMEOUT_SECONDS, PG_POOL_MAX } from '../../protocol/limits.js';
import { applyEvent } from '../../protocol/reducer.js';
import { RETRY_AFTER_SECONDS, RunwatchError } from '../errors.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { PG_MIGRATIONS } from './pg-migrations.js';
import { eventMatcher, searchWords } from './search.js';
import { rowWithState, storedJson, toExecution, toShare, toState, toStoredEvent, type ExecutionRow, type ShareRow } from './rows.js';
import type { AppendResult, IngestResult, ListResult, NewExecution, PreparedEvent, Store, StoredRow } from './store.js';

type Sql = postgres.Sql<{ bigint: number }>;

/** Most events one append transaction takes when it gathers several waiting appends (runGroup). */
const APPEND_GROUP_MAX_EVENTS = 5_000;

/** An append waiting for its execution's transaction in flight to finish. */
interface PendingAppend {
	events: PreparedEvent[];
	resolve(result: AppendResult): void;
	reject(error: unknown): void;
}

/** Events read per query while a search scans an execution (newest first). */
const SEARCH_SCAN_PAGE = 2_000;

/** Any constant works; it only has to be the same on every node (and unlike other apps' keys). */
const MIGRATION_LOCK = 0x52_75_6e_77; // "Runw"

/** Node and postgres.js codes, and SQLSTATEs, that mean "the database is not there right now". */
const CONNECTION_CODES = new Set([
	'ECONNREFUSED',
	'ECONNRESET',
	'ETIMEDOUT',
	'EHOSTUNREACH',
	'ENETUNREACH',
	'ENOTFOUND',
	'EAI_AGAIN',
	'EPIPE',
	'CONNECT_TIMEOUT',
	'CONNECTION_CLOSED',
	'CONNECTION_ENDED',
	'CONNECTION_DESTROYED',
	'57P01', // admin_shutdown
	'57P02', // crash_shutdown
	'57P03', // cannot_connect_now (starting up, recovering)
	'53300' // too_many_connections
]);

export function isConnectionError(error: unknown): boolean {
	const code = (error as { code?: unknown } | null)?.code;
	if (typeof code !== 'string') return false;
	return CONNECTION_CODES.has(code) || code.startsWith('08'); // class 08: connection exception
}

/** A lost database during a request is the client's to retry (503 + Retry-After), not a bug (500). */
async function guard<T>(work: () => Promise<T>): Promise<T> {
	try {
		return await work();
	} catch (error) {
		if (isConnectionError(error)) {
			console.error('[runwatch] PostgreSQL unreachable:', (error as Error).message);
			throw new RunwatchError('unavailable', 'The database is unreachable; retry in a moment', {
				retryAfterSeconds: RETRY_AFTER_SECONDS
			});
		}
		throw error;
	}
}

/** Where DATABASE_URL points, without its credentials (for messages). */
function describeUrl(url: string): string {
	try {
		const u = new URL(url);
		return `${u.hostname || 'localhost'}:${u.port || 5432}${u.pathname.length > 1 ? u.pathname : ''}`;
	} catch {
		return 'an address that is not a valid URL';
	}
}

export interface PostgresStoreOptions {
	/** `postgres://user:password@host:port/database` (DATABASE_URL). */
	url: string;
	/** Connections in this node's pool (default PG_POOL_MAX). */
	max?: number;
}

/**
 * The PostgreSQL store, for several nodes on one database. Concurrency: `appendEvents` locks the
 * execution's row (`SELECT … FOR UPDATE`) for its transaction and keeps `last_seq` on it, so
 * appends to one execution from any number of connections or nodes take turns and seq stays
 * gapless; `UNIQUE (execution_id, id)` keeps an event id once, and a retry (on any node) reads the
 * seq stored first. Appends to different executions run in parallel.
 *
 * Resolves once connected and migrated; a present-but-wrong URL (invalid, unreachable, refused)
 * rejects with a sentence naming DATABASE_URL.
 */
export async function createPostgresStore({ url, max = PG_POOL_MAX }: PostgresStoreOptions): Promise<Store> {
	let sql: Sql;
	try {
		sql = postgres(url, {
			max,
			connect_timeout: PG_CONNECT_TIMEOUT_SECONDS,
			onnotice: () => {}, // "relation already exists, skipping" and the like
			connection: { application_name: 'runwatch' },
			// seq, last_seq and token counts are BIGINT: numbers, as in SQLite (safe to 2^53).
			types: {
				bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) }
			}
		}) as unknown as Sql;
	} catch (error) {
		throw new Error(`DATABASE_URL is not a usable PostgreSQL URL (${(error as Error).message}). Fix it, or unset it to use the embedded SQLite store.`);
	}
	try {
		await migrate(sql);
	} catch (error) {
		await sql.end({ timeout: 0 }).catch(() => {});
		if ((error as Error).message?.includes('newer Runwatch')) throw error;
		throw new Error(
			`DATABASE_URL: cannot use the PostgreSQL database at ${describeUrl(url)}: ${(error as Error).message}. Fix DATABASE_URL, or unset it to use the embedded SQLite store.`
		);
	}

	const parseRows = (rows: readonly { json: string }[]): StoredEvent[] => rows.map((r) => JSON.parse(r.json));
	const plain = <T>(rows: readonly T[]): T[] => Array.from(rows);
	let closed = false;

	/**
	 * One append transaction in two round trips instead of four: BEGIN goes in the same write as
	 * the row lock and the look-up of ids, and COMMIT in the same write as the insert and the
	 * summary update (postgres.js pipelines queries sent together on one connection, so it takes a
	 * connection of its own for the transaction). Should the insert fail, PostgreSQL answers the
	 * COMMIT after it with a rollback; the failure is what the caller sees.
	 */
	const append = async (executionId: string, events: PreparedEvent[]): Promise<AppendResult> => {
		const tx = await sql.reserve();
		let commitSent = false;
		let broken = false;
		try {
			const ids = [...new Set(events.map((e) => e.id))];
			// The look-up of ids runs after the row lock is taken, so nothing for this execution
			// can be inserted between it and our insert. The ids go as one JSON text, not a text[]
			// that postgres.js would escape id by id.
			const [, [row], known] = await Promise.all([
				tx`BEGIN`,
				tx<ExecutionRow[]>`SELECT * FROM executions WHERE id = ${executionId} FOR NO KEY UPDATE`,
				tx<{ id: string; seq: number }[]>`SELECT id, seq FROM events WHERE execution_id = ${executionId}
					AND id = ANY(ARRAY(SELECT json_array_elements_text(${JSON.stringify(ids)}::text::json)))`
			]);
			if (!row) throw new RunwatchError('not_found', `No execution "${executionId}". Create it with POST /api/executions first.`);
			const seen = new Map(known.map((k) => [k.id, k.seq]));
			let state = toState(row);
			const stored: StoredEvent[] = [];
			const rows: StoredRow[] = [];
			const results: IngestResult[] = [];
			for (const event of events) {
				const earlier = seen.get(event.id);
				if (earlier !== undefined) {
					results.push({ id: event.id, seq: earlier, duplicate: true });
					continue;
				}
				const seq = state.lastSeq + 1;
				const storedEvent = toStoredEvent(event, seq);
				const json = storedJson(event, storedEvent);
				seen.set(event.id, seq);
				state = applyEvent(state, storedEvent);
				stored.push(storedEvent);
				rows.push({ seq, json });
				results.push({ id: event.id, seq, duplicate: false });
			}
			if (stored.length === 0) {
				commitSent = true;
				await tx`COMMIT`;
				return { stored, rows, results, execution: toExecution(row) };
			}
			const after = rowWithState(row, state);
			const endedMs = after.ended_at ? Date.parse(after.ended_at) : NaN;
			// One insert for the whole batch. The rows go as one JSON array made by joining their
			// JSON texts: a `json` value keeps each element's text as it came, so nothing is escaped
			// on the way (a text[] parameter escaped every quote of every event in JavaScript: a
			// quarter of a node's CPU per event in the cluster benchmark). The parameter is text
			// (`::text::json`): postgres.js would send a string given for a json parameter as a
			// JSON string.
			commitSent = true;
			await Promise.all([
				tx`INSERT INTO events (execution_id, seq, id, type, json)
				   SELECT ${executionId}, (e->>'seq')::bigint, e->>'id', e->>'type', e::text
				   FROM json_array_elements(${`[${rows.map((r) => r.json).join(',')}]`}::text::json) AS e`,
				tx`UPDATE executions SET status = ${after.status}, started_at = ${after.started_at}, ended_at = ${after.ended_at},
				     ended_ms = ${Number.isNaN(endedMs) ? null : endedMs}, last_seq = ${after.last_seq},
				     input_tokens = ${after.input_tokens}, output_tokens = ${after.output_tokens}, cost_usd = ${after.cost_usd},
				     error = ${after.error}, cancel_requested_at = ${after.cancel_requested_at},
				     cancel_reason = ${after.cancel_reason}, updated_at = ${after.updated_at}
				   WHERE id = ${executionId}`,
				tx`COMMIT`
			]);
			return { stored, rows, results, execution: toExecution(after) };
		} catch (error) {
			// A connection that broke is the pool's again already (postgres.js reconnects it);
			// handing it back as well would put it in the pool twice.
			if (isConnectionError(error)) broken = true;
			else if (!commitSent) await tx`ROLLBACK`.catch(() => {});
			throw error;
		} finally {
			if (!broken) tx.release();
		}
	};

	/**
	 * Appends to one execution take turns on its row lock, held for three round trips. So this
	 * node sends at most one append transaction per execution at a time: appends that arrive
	 * meanwhile wait and go together in the next one (in arrival order, each answered with its
	 * own results). Many agents' small POSTs to one execution then cost one transaction per turn,
	 * not one each (a convoy on the lock was what bounded the cluster's ingest and latency).
	 */
	const waiting = new Map<string, PendingAppend[]>();
	const appendTogether = (executionId: string, events: PreparedEvent[]): Promise<AppendResult> =>
		new Promise((resolve, reject) => {
			const pending: PendingAppend = { events, resolve, reject };
			const queue = waiting.get(executionId);
			if (queue) return void queue.push(pending); // one is in flight: join the next
			waiting.set(executionId, []);
			void runGroup(executionId, [pending]);
		});
	const runGroup = async (executionId: string, group: PendingAppend[]): Promise<void> => {
		try {
			const merged = await guard(() => append(executionId, group.flatMap((p) => p.events)));
			let at = 0;
			for (const pending of group) {
				const results = merged.results.slice(at, (at += pending.events.length));
				const mine = new Set(results.filter((r) => !r.duplicate).map((r) => r.seq));
				// An event id an earlier caller of the group sent too is a duplicate for this one.
				pending.resolve({
					stored: merged.stored.filter((e) => mine.has(e.seq)),
					rows: merged.rows.filter((r) => mine.has(r.seq)),
					results,
					execution: merged.execution
				});
			}
		} catch (error) {
			for (const pending of group) pending.reject(error);
		}
		const next = waiting.get(executionId)!;
		if (next.length === 0) return void waiting.delete(executionId);
		let events = 0;
		let take = 0;
		while (take < next.length && (take === 0 || events + next[take]!.events.length <= APPEND_GROUP_MAX_EVENTS)) events += next[take++]!.events.length;
		void runGroup(executionId, next.splice(0, take));
	};

	return {
		kind: 'postgres',

		createExecution: (input: NewExecution) =>
			guard(async () => {
				const inserted = await sql<ExecutionRow[]>`
					INSERT INTO executions (id, agent_name, department_name, agent, department, metadata, created_at, updated_at, status)
					VALUES (${input.id}, ${input.agent.name}, ${input.department?.name ?? null}, ${JSON.stringify(input.agent)},
					        ${input.department ? JSON.stringify(input.department) : null}, ${JSON.stringify(input.metadata)},
					        ${input.createdAt}, ${input.createdAt}, 'pending')
					ON CONFLICT (id) DO NOTHING
					RETURNING *`;
				if (inserted[0]) return { execution: toExecution(inserted[0]), created: true };
				const [row] = await sql<ExecutionRow[]>`SELECT * FROM executions WHERE id = ${input.id}`;
				return { execution: toExecution(row!), created: false };
			}),

		getExecution: (id) =>
			guard(async () => {
				const [row] = await sql<ExecutionRow[]>`SELECT * FROM executions WHERE id = ${id}`;
				return row ? toExecution(row) : undefined;
			}),

		getExecutions: (ids) =>
			guard(async () => {
				if (ids.length === 0) return [];
				// One array parameter: one round trip, however many ids.
				const rows = await sql<ExecutionRow[]>`SELECT * FROM executions WHERE id = ANY(${sql.array([...ids])}::text[])`;
				return rows.map(toExecution);
			}),

		listExecutions: (query: ListQuery) =>
			guard(async (): Promise<ListResult> => {
				const where: postgres.PendingQuery<postgres.Row[]>[] = [];
				if (query.status) where.push(sql`status = ${query.status}`);
				if (query.agent) where.push(sql`agent_name = ${query.agent}`);
				if (query.department) where.push(sql`department_name = ${query.department}`);
				if (query.q) {
					// The same rule as SQLite's LIKE: a substring, ASCII letters case-folded, wildcards literal.
					const like = `%${query.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
					where.push(sql`(runwatch_fold(id) LIKE runwatch_fold(${like}) ESCAPE '\\'
						OR runwatch_fold(agent_name) LIKE runwatch_fold(${like}) ESCAPE '\\'
						OR runwatch_fold(department_name) LIKE runwatch_fold(${like}) ESCAPE '\\'
						OR runwatch_fold(metadata) LIKE runwatch_fold(${like}) ESCAPE '\\'
						OR runwatch_fold(error) LIKE runwatch_fold(${like}) ESCAPE '\\')`);
				}
				if (query.cursor) {
					const cursor = decodeCursor(query.cursor);
					where.push(sql`(created_at < ${cursor.createdAt} OR (created_at = ${cursor.createdAt} AND id < ${cursor.id}))`);
				}
				const filter = where.length ? where.reduce((all, one) => sql`${all} AND ${one}`) : sql`TRUE`;
				const rows = await sql<ExecutionRow[]>`SELECT * FROM executions WHERE ${filter}
					ORDER BY created_at DESC, id DESC LIMIT ${query.limit + 1}`;
				const page = rows.slice(0, query.limit).map(toExecution);
				const last = page.at(-1);
				const nextCursor = rows.length > query.limit && last ? encodeCursor(last.createdAt, last.id) : null;
				return { executions: page, nextCursor };
			}),

		appendEvents: (executionId, events) => appendTogether(executionId, events),

		readEvents: (executionId, since, limit) =>
			guard(async () =>
				parseRows(await sql<{ json: string }[]>`SELECT json FROM events WHERE execution_id = ${executionId} AND seq > ${since} ORDER BY seq LIMIT ${limit}`)
			),

		readEventsJson: (executionId, since, limit) =>
			guard(async () =>
				plain(await sql<{ seq: number; json: string }[]>`SELECT seq, json FROM events WHERE execution_id = ${executionId} AND seq > ${since} ORDER BY seq LIMIT ${limit}`)
			),

		readBefore: (executionId, before, limit) =>
			guard(async () =>
				parseRows(
					plain(await sql<{ json: string }[]>`SELECT json FROM events WHERE execution_id = ${executionId} AND seq < ${before} ORDER BY seq DESC LIMIT ${limit}`).reverse()
				)
			),

		readTail: (executionId, limit) =>
			guard(async () =>
				parseRows(plain(await sql<{ json: string }[]>`SELECT json FROM events WHERE execution_id = ${executionId} ORDER BY seq DESC LIMIT ${limit}`).reverse())
			),

		// No text index here: the execution's events are scanned newest first, a page at a time,
		// with the same rule the SQLite store's FTS5 index applies (search.ts), until enough match.
		searchEvents: (executionId, query, { limit, before }) =>
			guard(async () => {
				const matches = eventMatcher(searchWords(query));
				const found: StoredEvent[] = [];
				let below = before ?? Number.MAX_SAFE_INTEGER;
				while (found.length < limit) {
					const page = plain(
						await sql<{ seq: number; json: string }[]>`SELECT seq, json FROM events WHERE execution_id = ${executionId} AND seq < ${below} ORDER BY seq DESC LIMIT ${SEARCH_SCAN_PAGE}`
					);
					for (const row of page) {
						const event = JSON.parse(row.json) as StoredEvent;
						if (matches(event) && found.push(event) === limit) break;
					}
					if (page.length < SEARCH_SCAN_PAGE) break;
					below = page.at(-1)!.seq;
				}
				return found.reverse();
			}),

		listAgentNames: (limit) =>
			guard(async () =>
				(await sql<{ agent_name: string }[]>`SELECT DISTINCT agent_name FROM executions ORDER BY agent_name LIMIT ${limit}`).map((r) => r.agent_name)
			),

		usageSince: (since) =>
			guard(async () =>
				(
					await sql<{ agent: string; runs: number; failed: number; input_tokens: number; output_tokens: number; cost_usd: number }[]>`
						SELECT agent_name AS agent, COUNT(*)::int AS runs, COUNT(*) FILTER (WHERE status = 'failed')::int AS failed,
						       SUM(input_tokens)::float8 AS input_tokens, SUM(output_tokens)::float8 AS output_tokens,
						       ROUND(SUM(cost_usd)::numeric, 6)::float8 AS cost_usd
						FROM executions WHERE created_at >= ${since} GROUP BY agent_name ORDER BY agent_name`
				).map((row) => ({
					agent: row.agent,
					runs: Number(row.runs),
					failed: Number(row.failed),
					inputTokens: Number(row.input_tokens),
					outputTokens: Number(row.output_tokens),
					costUsd: Number(row.cost_usd)
				}))
			),

		listOpenSince: (since, limit) =>
			guard(async () =>
				plain(
					await sql<ExecutionRow[]>`SELECT * FROM executions WHERE created_at >= ${since} AND ended_at IS NULL ORDER BY created_at DESC, id DESC LIMIT ${limit}`
				).map(toExecution)
			),

		createShare: (share) =>
			guard(async () => {
				await sql`INSERT INTO shares (id, execution_id, token_hash, created_at, expires_at)
					VALUES (${share.id}, ${share.executionId}, ${share.tokenHash}, ${share.createdAt}, ${share.expiresAt ?? null})`;
			}),

		findShareByTokenHash: (tokenHash) =>
			guard(async () => {
				const [row] = await sql<ShareRow[]>`SELECT * FROM shares WHERE token_hash = ${tokenHash}`;
				return row && toShare(row);
			}),

		getShare: (id) =>
			guard(async () => {
				const [row] = await sql<ShareRow[]>`SELECT * FROM shares WHERE id = ${id}`;
				return row && toShare(row);
			}),

		listShares: (executionId) =>
			guard(async () => (await sql<ShareRow[]>`SELECT * FROM shares WHERE execution_id = ${executionId} ORDER BY created_at DESC, id DESC`).map(toShare)),

		revokeShare: (executionId, id, at) =>
			guard(async () => {
				const result = await sql`UPDATE shares SET revoked_at = COALESCE(revoked_at, ${at}) WHERE execution_id = ${executionId} AND id = ${id}`;
				return result.count === 1;
			}),

		createViewerSession: (session) =>
			guard(async () => {
				// Expired sessions are swept whenever a new one starts: sign-ins are rare, the table small.
				await sql`DELETE FROM viewer_sessions WHERE expires_at < ${new Date().toISOString()}`;
				await sql`INSERT INTO viewer_sessions (id, created_at, expires_at) VALUES (${session.id}, ${session.createdAt}, ${session.expiresAt})`;
			}),

		getViewerSession: (id) =>
			guard(async () => {
				const [row] = await sql<{ id: string; created_at: string; expires_at: string }[]>`SELECT * FROM viewer_sessions WHERE id = ${id}`;
				return row && { id: row.id, createdAt: row.created_at, expiresAt: row.expires_at };
			}),

		deleteViewerSession: (id) =>
			guard(async () => {
				await sql`DELETE FROM viewer_sessions WHERE id = ${id}`;
			}),

		deleteExecution: (id) =>
			guard(async () => {
				// Events and shares go with it (ON DELETE CASCADE), in this one statement's transaction.
				const result = await sql`DELETE FROM executions WHERE id = ${id}`;
				return result.count === 1;
			}),

		async deleteEventsChunk(executionId, limit) {
			if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`deleteEventsChunk: limit must be a positive integer, got ${limit}`);
			return guard(async () => {
				// The newest `limit`: everything from the seq `limit - 1` places below the newest up
				// (all of them when there are fewer). One index walk and one range delete.
				const result = await sql`DELETE FROM events WHERE execution_id = ${executionId} AND seq >= COALESCE(
					(SELECT seq FROM events WHERE execution_id = ${executionId} ORDER BY seq DESC LIMIT 1 OFFSET ${limit - 1}), 0)`;
				return result.count;
			});
		},

		listEndedBefore: (cutoff, limit) =>
			guard(async () => {
				const before = Date.parse(cutoff);
				if (Number.isNaN(before)) return [];
				const rows = await sql<{ id: string }[]>`SELECT id FROM executions WHERE ended_ms IS NOT NULL AND ended_ms < ${before}
					ORDER BY ended_ms, id LIMIT ${limit}`;
				return rows.map((r) => r.id);
			}),

		// Autovacuum gives deleted rows' space back to PostgreSQL by itself.
		reclaimSpace: async () => 0,

		ping: () =>
			guard(async () => {
				await sql`SELECT 1`;
			}),

		async close() {
			if (closed) return;
			closed = true;
			await sql.end({ timeout: 5 });
		}
	};
}

/** Runs the missing migrations, once across nodes: the first to take the lock migrates, the rest then find nothing to do. */
async function migrate(sql: Sql): Promise<void> {
	await sql.begin(async (tx) => {
		await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
		await tx`CREATE TABLE IF NOT EXISTS runwatch_schema (version INTEGER NOT NULL)`;
		const [row] = await tx<{ version: number }[]>`SELECT version FROM runwatch_schema`;
		if (!row) await tx`INSERT INTO runwatch_schema (version) VALUES (0)`;
		const version = row?.version ?? 0;
		if (version > PG_MIGRATIONS.length) {
			throw new Error(
				`The database was written by a newer Runwatch (schema ${version}, this one knows ${PG_MIGRATIONS.length}). Upgrade Runwatch.`
			);
		}
		for (let v = version; v < PG_MIGRATIONS.length; v++) {
			await tx.unsafe(PG_MIGRATIONS[v]!).simple();
			await tx`UPDATE runwatch_schema SET version = ${v + 1}`;
		}
	});
}
