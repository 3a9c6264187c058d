import type { ListQuery } from '../../protocol/api.js';
import type { StoredEvent } from '../../protocol/events.js';
import type { Agent, Execution } from '../../protocol/executions.js';

/** An event ready to store: the server has filled in `id` and `ts`; `seq` is the store's job. */
export interface PreparedEvent {
	id: string;
	type: string;
	ts: string;
	stepId?: string;
	parentStepId?: string;
	data?: unknown;
	/**
	 * This event as JSON (`JSON.stringify` of the fields above, in that order), when the caller
	 * already serialised it (the ingest route does, to check its size): the store then builds the
	 * stored JSON from it instead of serialising the event again.
	 */
	json?: string;
}

/** One stored event as the JSON text kept in the store (what replay sends as is). */
export interface StoredRow {
	seq: number;
	json: string;
}

export interface NewExecution {
	id: string;
	agent: Agent;
	department?: Agent;
	metadata: Record<string, string>;
	createdAt: string;
}

export interface IngestResult {
	id: string;
	seq: number;
	/** True when an event with this id was stored before (a retried send). */
	duplicate: boolean;
}

export interface AppendResult {
	/** Events this call stored, ascending by seq: what the hub must fan out. */
	stored: StoredEvent[];
	/** The same events as their stored JSON text, for the hub (no second serialisation). */
	rows: StoredRow[];
	/** One entry per input event, in input order. */
	results: IngestResult[];
	/** The execution after the write (status and totals updated in the same transaction). */
	execution: Execution;
}

/** One item of `createAndAppendMany`: the execution when this call created it, and the append. */
export interface CreateAndAppendResult extends AppendResult {
	created: Execution | undefined;
}

/** A share link as stored: its token is never kept, only a hash of it. */
export interface ShareRecord {
	id: string;
	executionId: string;
	createdAt: string;
	/** Absent: valid until revoked. */
	expiresAt?: string;
	revokedAt?: string;
}

/** A signed-in viewer's session (the cookie holds its token; the store keeps a hash). */
export interface ViewerSessionRecord {
	/** sha256 of the session token, hex. */
	id: string;
	createdAt: string;
	expiresAt: string;
}

/** One agent's executions created since a moment (`usageSince`). */
export interface AgentTotals {
	agent: string;
	runs: number;
	/** Of those, how many have status `failed`. */
	failed: number;
	inputTokens: number;
	outputTokens: number;
	costUsd: number;
}

export interface SearchEventsOptions {
	/** Most events returned (the newest matches first chosen, returned ascending). */
	limit: number;
	/** Only events with seq < before (paging back through matches). */
	before?: number;
}

export interface ListResult {
	executions: Execution[];
	nextCursor: string | null;
}

/**
 * Storage behind the hub and the routes. Implementations: `sqlite.ts` (embedded default, one
 * process) and `postgres.ts` (`DATABASE_URL`, any number of nodes on one database).
 *
 * Every method resolves only after its write is committed. `appendEvents` assigns seq inside
 * its write transaction: 1, 2, 3 … per execution, gapless, in commit order, and stores an event
 * id at most once per execution.
 *
 * Concurrency rule: any method may be called while others are still pending, from any number of
 * callers, and (PostgreSQL) from any number of processes on the same database. Appends to one
 * execution are serialised by the store (SQLite: one synchronous `BEGIN IMMEDIATE` transaction at a time, which also holds
 * between processes on one file;
 * PostgreSQL: the execution's row is locked for the append's transaction), so two appends never
 * get the same seq nor leave a gap, and a batch retried anywhere gets the seqs stored first.
 * Callers need no lock of their own. A store whose database cannot be reached rejects with
 * RunwatchError `unavailable` (503, retry later), never with a half-applied write.
 */
export interface Store {
	readonly kind: 'sqlite' | 'postgres';
	/** Creates the execution, or returns the existing one with that id (`created: false`). */
	createExecution(input: NewExecution): Promise<{ execution: Execution; created: boolean }>;
	getExecution(id: string): Promise<Execution | undefined>;
	/**
	 * The executions among `ids` that exist, in one query (the healer's periodic check of every
	 * followed execution); ids with no execution are left out. Order not specified.
	 */
	getExecutions(ids: readonly string[]): Promise<Execution[]>;
	listExecutions(query: ListQuery): Promise<ListResult>;
	/** Throws RunwatchError `not_found` for an unknown execution. */
	appendEvents(executionId: string, events: PreparedEvent[]): Promise<AppendResult>;
	/**
	 * Optional: for each item, `createExecution` then `appendEvents`, all in ONE write
	 * transaction (OTLP: the traces of one request). One commit instead of two per execution;
	 * callers fall back to the two calls per item when a store lacks it.
	 */
	createAndAppendMany?(items: readonly { execution: NewExecution; events: PreparedEvent[] }[]): Promise<CreateAndAppendResult[]>;
	/** Events with seq > since, ascending, at most `limit`. */
	readEvents(executionId: string, since: number, limit: number): Promise<StoredEvent[]>;
	/**
	 * The same events as `readEvents`, each already serialised as JSON. Lets replay build frames
	 * without parsing and re-serialising what was stored as text.
	 */
	readEventsJson(executionId: string, since: number, limit: number): Promise<{ seq: number; json: string }[]>;
	/** The newest `limit` events, ascending. */
	readTail(executionId: string, limit: number): Promise<StoredEvent[]>;
	/** The newest `limit` events with seq < before, ascending (scrolling back). */
	readBefore(executionId: string, before: number, limit: number): Promise<StoredEvent[]>;
	/**
	 * Events of one execution that contain every word of `query`, each as the start of a word of
	 * the event's text, in any case, accents ignored ("inv 20" finds "Invoice INV-2044"); the
	 * newest `limit` of them (with seq < `before` when given), returned ascending by seq. Words are
	 * runs of letters and digits; anything else separates them and is never an operator. An
	 * event's text is every string and number in its stored JSON (type, ids, ts, all values in
	 * `data` at any depth), never the JSON's keys. A query without a word matches nothing.
	 * SQLite: an FTS5 index, filled for an execution by its first search. PostgreSQL: a tsvector
	 * with prefix queries (`word:*`) gives the same answers.
	 */
	searchEvents(executionId: string, query: string, options: SearchEventsOptions): Promise<StoredEvent[]>;
	/** Every agent name that has an execution, sorted, at most `limit`. */
	listAgentNames(limit: number): Promise<string[]>;
	/** Per agent (sorted by name): executions created at or after `since` (ISO-8601), their failures, tokens and cost (to the micro-dollar, as the reducer sums). */
	usageSince(since: string): Promise<AgentTotals[]>;
	/** Executions created at or after `since` that have not ended, newest first, at most `limit`. */
	listOpenSince(since: string, limit: number): Promise<Execution[]>;

	/** Share links (`access/shares.ts`): the caller hashes tokens; the store never sees one. */
	createShare(share: ShareRecord & { tokenHash: string }): Promise<void>;
	findShareByTokenHash(tokenHash: string): Promise<ShareRecord | undefined>;
	getShare(id: string): Promise<ShareRecord | undefined>;
	/** Newest first, revoked ones included. */
	listShares(executionId: string): Promise<ShareRecord[]>;
	/** Sets `revokedAt` (once); false when there is no such share for that execution. */
	revokeShare(executionId: string, id: string, at: string): Promise<boolean>;

	/** Sign-in sessions (`access/viewer-sessions.ts`), keyed by the hash of their token. */
	createViewerSession(session: ViewerSessionRecord): Promise<void>;
	getViewerSession(id: string): Promise<ViewerSessionRecord | undefined>;
	deleteViewerSession(id: string): Promise<void>;

	/**
	 * Deletes the execution and every event it still has, in one transaction. False when there
	 * was no such execution. One transaction holds the write lock for as long as it takes (an
	 * embedded store blocks the whole process meanwhile): for a large execution, call
	 * `deleteEventsChunk` until it returns 0 first.
	 */
	deleteExecution(id: string): Promise<boolean>;
	/**
	 * Deletes at most `limit` events of one execution, the newest first, in one short
	 * transaction; returns how many went (0 when none are left). The execution stays, with its
	 * summary: a viewer meanwhile sees fewer events, never a gap (replay from any seq reads the
	 * oldest ones, in order).
	 */
	deleteEventsChunk(executionId: string, limit: number): Promise<number>;
	/**
	 * Ids of at most `limit` executions that ended (`endedAt`: completed, failed or cancelled)
	 * before `cutoff` (ISO-8601), those that ended first first. Executions that have not ended
	 * are never listed, however old.
	 */
	listEndedBefore(cutoff: string, limit: number): Promise<string[]>;
	/**
	 * Gives up to `maxPages` of the storage's free space back to the file system, in one short
	 * step; returns how much is still free to give back (0 when done). Call it after deleting, a
	 * step at a time. A store whose database reclaims space by itself returns 0.
	 */
	reclaimSpace(maxPages: number): Promise<number>;
	/** Resolves when the database answers (readiness checks); rejects with `unavailable` when not. */
	ping(): Promise<void>;
	close(): Promise<void>;
}
