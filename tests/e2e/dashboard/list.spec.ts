// The list at `/` as a product: live (new executions appear, statuses and durations change
// without a reload), filters, search, cursor pagination, and states that say what to do next.
import { expect, test } from '../support/fixtures.ts';
import { executionId } from '../support/runwatch.ts';

const rowOf = (page: import('@playwright/test').Page, id: string) => page.locator(`[data-testid="execution-row"][data-id="${id}"]`);

/**
 * The page is hydrated and live (its stream is open). The rows are rendered on the server, so
 * they show before the filters have their handlers: a choice made in that moment is reset by
 * hydration, and a test must not depend on winning that race (it lost it under a parallel run).
 */
const live = (page: import('@playwright/test').Page) => expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'open');

test('new executions appear live, and their status and duration change without a reload', async ({ page, freshServer: server }) => {
	const first = executionId('first');
	await server.createExecution({ id: first, agent: { name: 'e2e-first' } });
	await page.goto(`${server.url}/`);
	await expect(rowOf(page, first)).toBeVisible();
	await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'open');

	const fresh = executionId('fresh');
	await server.createExecution({ id: fresh, agent: { name: 'e2e-fresh' }, department: { name: 'Support' } });
	await expect(rowOf(page, fresh)).toBeVisible();
	// Newest first.
	await expect(page.getByTestId('execution-row').first()).toHaveAttribute('data-id', fresh);
	await expect(rowOf(page, fresh).getByTestId('execution-row-status')).toHaveText('pending');

	await server.postEvents(fresh, { type: 'agent-start' });
	await expect(rowOf(page, fresh).getByTestId('execution-row-status')).toHaveText('running');
	const duration = rowOf(page, fresh).locator('td[data-label="Duration"]');
	const before = await duration.textContent();
	await expect.poll(() => duration.textContent(), { timeout: 5_000 }).not.toBe(before);

	await server.postEvents(fresh, [{ type: 'usage', data: { inputTokens: 100, outputTokens: 20, costUsd: 0.5 } }, { type: 'agent-complete' }]);
	await expect(rowOf(page, fresh).getByTestId('execution-row-status')).toHaveText('completed');
	await expect(rowOf(page, fresh)).toContainText('$0.50');
});

test('filters by status, agent and department, search, and a state for no matches', async ({ page, freshServer: server }) => {
	const ids = { a: executionId('alpha'), b: executionId('beta'), c: executionId('gamma') };
	await server.createExecution({ id: ids.a, agent: { name: 'triage' }, department: { name: 'Support' } });
	await server.createExecution({ id: ids.b, agent: { name: 'indexer' }, department: { name: 'Data' } });
	await server.createExecution({ id: ids.c, agent: { name: 'triage' }, department: { name: 'Data' } });
	await server.postEvents(ids.b, [{ type: 'agent-start' }, { type: 'error', data: { message: 'x' } }]);

	await page.goto(`${server.url}/`);
	await expect(page.getByTestId('execution-row')).toHaveCount(3);
	await live(page);

	await page.getByLabel('Status').selectOption('failed');
	await expect(page).toHaveURL(/status=failed/);
	await expect(page.getByTestId('execution-row')).toHaveCount(1);
	await expect(rowOf(page, ids.b)).toBeVisible();

	await page.goto(`${server.url}/?agent=triage&department=Data`);
	await expect(page.getByTestId('execution-row')).toHaveCount(1);
	await expect(rowOf(page, ids.c)).toBeVisible();
	// A new matching execution appears on the filtered page; one that does not match stays away.
	const late = executionId('late');
	await server.createExecution({ id: late, agent: { name: 'triage' }, department: { name: 'Data' } });
	await server.createExecution({ id: executionId('other'), agent: { name: 'triage' }, department: { name: 'Support' } });
	await expect(rowOf(page, late)).toBeVisible();
	await expect(page.getByTestId('execution-row')).toHaveCount(2);

	await page.goto(`${server.url}/`);
	await live(page);
	await page.getByLabel('Search').fill(ids.a.slice(-8));
	await expect(page).toHaveURL(/q=/);
	await expect(page.getByTestId('execution-row')).toHaveCount(1);

	await page.getByLabel('Search').fill('nothing-like-this');
	await expect(page.getByTestId('no-matches')).toBeVisible();
	await page.getByTestId('no-matches').getByRole('link', { name: 'Clear filters' }).click();
	await expect(page.getByTestId('execution-row')).toHaveCount(5);
});

test('a status and a search chosen before the page is hydrated still apply once it is', async ({ page, freshServer: server }) => {
	const failing = executionId('early-failed');
	await server.createExecution({ id: executionId('early-running'), agent: { name: 'triage' } });
	await server.createExecution({ id: failing, agent: { name: 'triage' } });
	await server.postEvents(failing, [{ type: 'agent-start' }, { type: 'error', data: { message: 'x' } }]);

	// Hold the app's scripts back: the user picks from the server-rendered page meanwhile.
	let release!: () => void;
	const scripts = new Promise<void>((resolve) => (release = resolve));
	await page.route('**/_app/immutable/**', async (route) => {
		await scripts;
		await route.continue();
	});
	// (Module scripts hold DOMContentLoaded back too: wait for the rendered rows instead.)
	await page.goto(`${server.url}/`, { waitUntil: 'commit' });
	await expect(page.getByTestId('execution-row')).toHaveCount(2);
	await page.getByLabel('Status').selectOption('failed');
	await page.getByLabel('Search').fill('early');
	release();

	await live(page);
	await expect(page).toHaveURL(/status=failed/);
	await expect(page).toHaveURL(/q=early/);
	await expect(page.getByLabel('Status')).toHaveValue('failed');
	await expect(page.getByTestId('execution-row')).toHaveCount(1);
	await expect(rowOf(page, failing)).toBeVisible();
});

test('cursor pagination: older pages and back to the newest', async ({ page, freshServer: server }) => {
	const ids: string[] = [];
	for (let i = 0; i < 7; i++) {
		const id = `page-${String(i).padStart(2, '0')}-${executionId('p')}`;
		ids.push(id);
		await server.createExecution({ id, agent: { name: `agent-${i}` } });
	}
	await page.goto(`${server.url}/?limit=3`);
	await expect(page.getByTestId('execution-row')).toHaveCount(3);
	const seen = new Set<string>();
	for (let pageNo = 0; pageNo < 3; pageNo++) {
		for (const id of await page.getByTestId('execution-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')!))) seen.add(id);
		if (pageNo < 2) {
			// Wait for the next page itself: from the second page on, the URL has a cursor already.
			const firstBefore = await page.getByTestId('execution-row').first().getAttribute('data-id');
			await page.getByTestId('older-page').click();
			await expect(page).toHaveURL(/cursor=/);
			await expect(page.getByTestId('execution-row').first()).not.toHaveAttribute('data-id', firstBefore!);
		}
	}
	expect(seen.size).toBe(7);
	await expect(page.getByTestId('older-page')).toHaveCount(0);
	await page.getByRole('link', { name: '← Newest' }).click();
	await expect(page.getByTestId('execution-row').first()).toHaveAttribute('data-id', ids[6]!);
});

test('a bad filter says what is wrong and how to get back', async ({ page, server }) => {
	await page.goto(`${server.url}/?status=sleeping`);
	await expect(page.getByRole('alert')).toContainText('This filter is not valid');
	await page.getByRole('link', { name: 'Show all executions' }).click();
	await expect(page).toHaveURL(`${server.url}/`);
});
