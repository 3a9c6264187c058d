/**
 * SQLite schema, one entry per version. `PRAGMA user_version` records how many have run; a
 * migration runs in the same transaction as its version bump. Append, never edit.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
	`
	CREATE TABLE executions (
		id              TEXT PRIMARY KEY,
		agent_name      TEXT NOT NULL,
		department_name TEXT,
		agent           TEXT NOT NULL,          -- JSON
		department      TEXT,                   -- JSON
		metadata        TEXT NOT NULL,          -- JSON object of strings
		created_at      TEXT NOT NULL,
		updated_at      TEXT NOT NULL,
		status          TEXT NOT NULL,
		started_at      TEXT,
		ended_at        TEXT,
		last_seq        INTEGER NOT NULL DEFAULT 0,
		input_tokens    INTEGER NOT NULL DEFAULT 0,
		output_tokens   INTEGER NOT NULL DEFAULT 0,
		cost_usd        REAL NOT NULL DEFAULT 0,
		error           TEXT
	);
	CREATE INDEX executions_by_created ON executions (created_at DESC, id DESC);
	CREATE INDEX executions_by_status ON executions (status, created_at DESC, id DESC);
	CREATE INDEX executions_by_agent ON executions (agent_name, created_at DESC, id DESC);

	-- One row per event. The whole event is kept as JSON text so replay can send it as is.
	CREATE TABLE events (
		execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
		seq          INTEGER NOT NULL,
		id           TEXT NOT NULL,
		type         TEXT NOT NULL,
		json         TEXT NOT NULL,
		PRIMARY KEY (execution_id, seq)
	) WITHOUT ROWID;
	CREATE UNIQUE INDEX events_by_id ON events (execution_id, id);
	`,
	// 2: the list's department filter
	`
	CREATE INDEX executions_by_department ON executions (department_name, created_at DESC, id DESC);
	`,
	// 3: cancel requests (the reducer's `cancelling` state)
	`
	ALTER TABLE executions ADD COLUMN cancel_requested_at TEXT;
	ALTER TABLE executions ADD COLUMN cancel_reason TEXT;
	`,
	// 4: sign-in sessions and share links. Only hashes of their tokens are kept.
	`
	CREATE TABLE viewer_sessions (
		id          TEXT PRIMARY KEY,           -- sha256 of the session token, hex
		created_at  TEXT NOT NULL,
		expires_at  TEXT NOT NULL
	);
	CREATE TABLE shares (
		id            TEXT PRIMARY KEY,
		execution_id  TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
		token_hash    TEXT NOT NULL UNIQUE,     -- sha256 of the share token, hex
		created_at    TEXT NOT NULL,
		expires_at    TEXT,                     -- NULL: until revoked
		revoked_at    TEXT
	);
	CREATE INDEX shares_by_execution ON shares (execution_id, created_at DESC);
	`,
	// 5: retention finds executions that ended before a cutoff. `ended_at` is the terminal event's
	// `ts`, in whatever zone the agent sent it; julianday() compares instants, not strings.
	`
	CREATE INDEX executions_by_end ON executions (julianday(ended_at)) WHERE ended_at IS NOT NULL;
	`,
	// 6: search within an execution (`searchEvents`): a contentless FTS5 index of each event's
	// words (every string and number in its JSON; not the keys). `event_search` maps the index's
	// rowids to (execution, seq), since `events` has no rowid. Filled lazily by the first search of
	// an execution, not on ingest: indexing costs more than storing, and most runs are never searched.
	`
	CREATE TABLE event_search (
		doc          INTEGER PRIMARY KEY,
		execution_id TEXT NOT NULL,
		seq          INTEGER NOT NULL,
		UNIQUE (execution_id, seq)
	);
	CREATE VIRTUAL TABLE events_fts USING fts5(text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2');
	`,
	// 7: events in an ordinary (rowid) table, its key (execution_id, seq) a unique index. A WITHOUT
	// ROWID table keeps whole rows in its key's B-tree, which SQLite advises only for rows under
	// about a twentieth of a page (~200 bytes); events are often kilobytes (a model's messages), and
	// an execution's new rows landed inside that tree, splitting pages full of them. Now rows are
	// appended and only the two small keys go into B-trees: for OTLP-sized events a third less CPU
	// and WAL written per event. The rows are copied once, in key order.
	`
	CREATE TABLE events_new (
		execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
		seq          INTEGER NOT NULL,
		id           TEXT NOT NULL,
		type         TEXT NOT NULL,
		json         TEXT NOT NULL
	);
	INSERT INTO events_new (execution_id, seq, id, type, json)
		SELECT execution_id, seq, id, type, json FROM events ORDER BY execution_id, seq;
	DROP TABLE events;
	ALTER TABLE events_new RENAME TO events;
	CREATE UNIQUE INDEX events_by_seq ON events (execution_id, seq);
	CREATE UNIQUE INDEX events_by_id ON events (execution_id, id);
	`
];
