import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { createSqliteStore } from './sqlite.js';
import type { Store } from './store.js';
import { storeContract } from './store.contract.js';

// The contract on SQLite. The same suite runs on PostgreSQL in tests/integration/store-postgres.test.ts.
describe('Store contract: SQLite', () => {
	let dir: string | undefined;
	let file = '';
	const open: Store[] = [];
	storeContract({
		async open() {
			dir = mkdtempSync(join(tmpdir(), 'runwatch-store-'));
			file = join(dir, 'nested', 'runwatch.sqlite');
			return this.openAgain();
		},
		async openAgain() {
			const store = createSqliteStore({ file });
			open.push(store);
			return store;
		},
		async reset() {
			for (const store of open.splice(0)) await store.close();
			if (dir) rmSync(dir, { recursive: true, force: true });
			dir = undefined;
		}
	});
});
