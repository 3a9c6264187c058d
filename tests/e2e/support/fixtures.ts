// Playwright fixtures: `server` is one Runwatch per worker, shared by that worker's tests (they
// run one after another); `freshServer` is a server of the test's own, with an empty data
// directory, for tests that need an empty list or that stop and restart the server.
import { test as base, expect, type Locator, type Page } from '@playwright/test';
import { RunwatchServer } from './runwatch.ts';

interface TestFixtures {
	/** Starts a Runwatch of this test's own (empty data dir); stopped and deleted after the test. */
	freshServer: RunwatchServer;
}
interface WorkerFixtures {
	server: RunwatchServer;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
	server: [
		async ({}, use) => {
			const server = new RunwatchServer();
			await server.start();
			await use(server);
			await server.dispose();
		},
		{ scope: 'worker', timeout: 60_000 }
	],
	baseURL: async ({ server }, use) => use(server.url),
	freshServer: async ({}, use, testInfo) => {
		const server = new RunwatchServer();
		await server.start();
		await use(server);
		if (testInfo.status !== testInfo.expectedStatus) {
			await testInfo.attach('runwatch-server.log', { body: server.logs(), contentType: 'text/plain' });
		}
		await server.dispose();
	}
});

export { expect };

/**
 * The seq of every event the timeline shows: each row's own (data-seq) and, for a step's row, the
 * step-end it stands for too (data-end-seq; that end has no row). Ascending when the rows are in
 * order; rows out of order come back as they are, so a comparison with a sorted list fails.
 */
export async function rowSeqs(page: Page): Promise<number[]> {
	const rows = await page
		.getByTestId('event-row')
		.evaluateAll((rows) => rows.map((row) => [Number(row.getAttribute('data-seq')), Number(row.getAttribute('data-end-seq') ?? 0)]));
	const own = rows.map(([seq]) => seq!);
	if (own.some((seq, i) => i > 0 && seq <= own[i - 1]!)) return own;
	return rows.flatMap(([seq, end]) => (end ? [seq!, end] : [seq!])).sort((a, b) => a - b);
}

/** Waits until the timeline shows exactly the events `expected` (by seq, see `rowSeqs`). */
export async function expectRowSeqs(page: Page, expected: number[], timeout = 15_000): Promise<void> {
	await expect.poll(() => rowSeqs(page), { timeout, message: 'timeline rows (data-seq, data-end-seq) in order' }).toEqual(expected);
}

export function connectionState(page: Page): Locator {
	return page.getByTestId('connection-state');
}
