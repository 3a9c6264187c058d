/**
 * A throwaway PostgreSQL database per test file: `CREATE DATABASE runwatch_test_<random>` on the
 * admin URL (postgres://postgres@127.0.0.1:5432/postgres, or RUNWATCH_TEST_PG_URL), dropped
 * afterwards. Without PostgreSQL the tests that need it are skipped with a message saying so,
 * except under CI=true, where they run and fail.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { test } from 'vitest';

export const CI = process.env.CI === 'true' || process.env.CI === '1';
export const PG_ADMIN_URL = process.env.RUNWATCH_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

const admin = () => postgres(PG_ADMIN_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });

/** Why PostgreSQL cannot be used, or undefined when it can. */
export async function postgresMissing(): Promise<string | undefined> {
	const sql = admin();
	try {
		await sql`SELECT 1`;
		return undefined;
	} catch (error) {
		return `PostgreSQL is not reachable at ${PG_ADMIN_URL.replace(/\/\/[^@/]*@/, '//')} (${(error as Error).message}); start it, or point RUNWATCH_TEST_PG_URL at an admin connection`;
	} finally {
		await sql.end({ timeout: 1 }).catch(() => {});
	}
}

/**
 * `test`, or `test.skip` with a warning naming `file` when PostgreSQL is missing (never under
 * CI: there the test runs and fails, saying why). Call with top-level await.
 */
export async function pgTestFor(file: string): Promise<{ pgTest: typeof test; missing: string | undefined }> {
	const missing = await postgresMissing();
	if (missing && !CI) console.warn(`${file}: skipped: ${missing}`);
	// test.skip's chainable type is narrower than `typeof test`; both are called the same way here.
	return { pgTest: (missing && !CI ? test.skip : test) as typeof test, missing };
}

export interface TestDatabase {
	/** postgres:// URL of the new, empty database. */
	url: string;
	name: string;
	drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
	const name = `runwatch_test_${randomBytes(6).toString('hex')}`;
	const sql = admin();
	try {
		await sql.unsafe(`CREATE DATABASE ${name}`);
	} finally {
		await sql.end({ timeout: 1 });
	}
	const url = new URL(PG_ADMIN_URL);
	url.pathname = `/${name}`;
	return {
		url: url.toString(),
		name,
		async drop() {
			const sql = admin();
			try {
				// WITH (FORCE): a server killed mid-test may leave connections behind.
				await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
			} finally {
				await sql.end({ timeout: 1 });
			}
		}
	};
}
