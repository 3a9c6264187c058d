/**
 * PostgreSQL schema, one entry per version; the same tables and columns as the SQLite schema
 * (migrations.ts), so both stores keep the same text. `runwatch_schema.version` records how many
 * have run; they run at startup in one transaction under an advisory lock (postgres.ts), so nodes
 * starting together migrate once. Append, never edit.
 *
 * Text columns compare byte-wise (COLLATE "C"), as SQLite's do: list order and cursors are the
 * same on both stores whatever the database's locale.
 */
export const PG_MIGRATIONS: readonly string[] = [
	`
	CREATE TABLE executions (
		id                  TEXT COLLATE "C" PRIMARY KEY,
		agent_name          TEXT COLLATE "C" NOT NULL,
		department_name     TEXT COLLATE "C",
		agent               TEXT NOT NULL,          -- JSON
		department          TEXT,                   -- JSON
		metadata            TEXT NOT NULL,          -- JSON object of strings
		created_at          TEXT COLLATE "C" NOT NULL,
		updated_at          TEXT NOT NULL,
		status              TEXT COLLATE "C" NOT NULL,
		started_at          TEXT,
		ended_at            TEXT,
		-- ended_at as milliseconds since the epoch: retention compares instants, not text
		-- (an agent may send any zone), as SQLite's julianday() does.
		ended_ms            DOUBLE PRECISION,
		last_seq            BIGINT NOT NULL DEFAULT 0,
		input_tokens        BIGINT NOT NULL DEFAULT 0,
		output_tokens       BIGINT NOT NULL DEFAULT 0,
		cost_usd            DOUBLE PRECISION NOT NULL DEFAULT 0,
		error               TEXT,
		cancel_requested_at TEXT,
		cancel_reason       TEXT
	);
	CREATE INDEX executions_by_created ON executions (created_at DESC, id DESC);
	CREATE INDEX executions_by_status ON executions (status, created_at DESC, id DESC);
	CREATE INDEX executions_by_agent ON executions (agent_name, created_at DESC, id DESC);
	CREATE INDEX executions_by_department ON executions (department_name, created_at DESC, id DESC);
	CREATE INDEX executions_by_end ON executions (ended_ms) WHERE ended_ms IS NOT NULL;

	-- One row per event. The whole event is kept as JSON text (not jsonb, which would reorder
	-- keys and respace it) so replay sends exactly what was stored.
	CREATE TABLE events (
		execution_id TEXT COLLATE "C" NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
		seq          BIGINT NOT NULL,
		id           TEXT COLLATE "C" NOT NULL,
		type         TEXT NOT NULL,
		json         TEXT NOT NULL,
		PRIMARY KEY (execution_id, seq)
	);
	-- Idempotency by event id, across nodes.
	CREATE UNIQUE INDEX events_by_id ON events (execution_id, id);

	CREATE TABLE viewer_sessions (
		id          TEXT COLLATE "C" PRIMARY KEY,   -- sha256 of the session token, hex
		created_at  TEXT NOT NULL,
		expires_at  TEXT COLLATE "C" NOT NULL
	);
	CREATE TABLE shares (
		id            TEXT COLLATE "C" PRIMARY KEY,
		execution_id  TEXT COLLATE "C" NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
		token_hash    TEXT COLLATE "C" NOT NULL UNIQUE, -- sha256 of the share token, hex
		created_at    TEXT COLLATE "C" NOT NULL,
		expires_at    TEXT,                           -- NULL: until revoked
		revoked_at    TEXT
	);
	CREATE INDEX shares_by_execution ON shares (execution_id, created_at DESC);

	-- SQLite's LIKE folds case for ASCII letters only; list search folds the same way on both
	-- stores (ILIKE or lower() would also fold é/É, and differently per locale).
	CREATE FUNCTION runwatch_fold(text) RETURNS text
		LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
		AS $$ SELECT translate($1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') $$;
	`
];
