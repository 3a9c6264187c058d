import { join } from 'node:path';
import type { RunwatchConfig } from '../config.js';
import { createPostgresStore } from './postgres.js';
import { createSqliteStore } from './sqlite.js';
import type { Store } from './store.js';

/**
 * The store the configuration asks for: PostgreSQL when DATABASE_URL is set (and then only
 * PostgreSQL: a wrong URL rejects, naming DATABASE_URL, never falls back), else SQLite in the
 * data directory.
 */
export async function createStore(config: Pick<RunwatchConfig, 'dataDir' | 'databaseUrl'>): Promise<Store> {
	if (config.databaseUrl) return createPostgresStore({ url: config.databaseUrl });
	return createSqliteStore({ file: join(config.dataDir, 'runwatch.sqlite') });
}
