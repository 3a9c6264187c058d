import { join } from 'node:path';
import type { RunwatchConfig } from '../config.js';
import { createSqliteStore } from './sqlite.js';
import type { Store } from './store.js';

/**
 * The store the configuration asks for: PostgreSQL when DATABASE_URL is set (and then only
 * PostgreSQL: a wrong URL rejects, naming DATABASE_URL, never falls back), else SQLite in the
 * data directory.
 */
export async function createStore(config: Pick<RunwatchConfig, 'dataDir' | 'databaseUrl'>): Promise<Store> {
	// postgres.js is loaded only when it is asked for: the embedded default starts without it.
	if (config.databaseUrl) return (await import('./postgres.js')).createPostgresStore({ url: config.databaseUrl });
	return createSqliteStore({ file: join(config.dataDir, 'runwatch.sqlite') });
}
