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

/** The data-seq of every timeline row, in document order. */
export function rowSeqs(page: Page): Promise<number[]> {
	return page.getByTestId('event-row').evaluateAll((rows) => rows.map((row) => Number(row.getAttribute('data-seq'))));
}

/** Waits until the timeline shows exactly `expected` (by data-seq, in order). */
export async function expectRowSeqs(page: Page, expected: number[], timeout = 15_000): Promise<void> {
	await expect.poll(() => rowSeqs(page), { timeout, message: 'timeline rows (data-seq) in order' }).toEqual(expected);
}

export function connectionState(page: Page): Locator {
	return page.getByTestId('connection-state');
}
