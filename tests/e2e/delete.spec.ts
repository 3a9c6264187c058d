// Delete from the page: the confirmation, then the list. Everyone else learns at once: a second
// page watching the execution says it was deleted, and a list page drops the row.
import { connectionState, expect, test } from './support/fixtures.ts';
import { executionId } from './support/runwatch.ts';

// Three pages of one browser on a busy 2-core machine: more time than one page needs, no bound on speed.
test.describe.configure({ timeout: 120_000 });

test('Delete asks for confirmation and goes to the list; a page watching it says so; a list page drops the row live', async ({
	page,
	server
}) => {
	const id = executionId('delete');
	const kept = executionId('delete-kept');
	await server.createExecution({ id, agent: { name: 'e2e-delete-agent' } });
	await server.createExecution({ id: kept, agent: { name: 'e2e-delete-kept' } });
	await server.postEvents(id, [{ type: 'agent-start' }, { type: 'output', data: { text: 'about to go\n' } }]);

	const list = await page.context().newPage();
	await list.goto('/');
	await expect(connectionState(list)).toHaveAttribute('data-state', 'open');
	const row = list.locator(`[data-testid="execution-row"][data-id="${id}"]`);
	const keptRow = list.locator(`[data-testid="execution-row"][data-id="${kept}"]`);
	await expect(row).toBeVisible();
	await expect(keptRow).toBeVisible();

	const watcher = await page.context().newPage();
	await watcher.goto(`/executions/${id}`);
	await expect(connectionState(watcher)).toHaveAttribute('data-state', 'open');

	await page.goto(`/executions/${id}`);
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
	await expect(page.getByTestId('execution-status')).toHaveText('running');

	// Keep it: nothing is sent.
	await page.getByTestId('delete-open').click();
	const dialog = page.getByRole('dialog', { name: 'Delete this execution?' });
	await expect(dialog).toBeVisible();
	await expect(dialog).toContainText('e2e-delete-agent');
	await expect(dialog).toContainText('cannot be undone');
	await dialog.getByRole('button', { name: 'Keep it' }).click();
	await expect(dialog).toBeHidden();
	expect((await fetch(`${server.url}/api/executions/${id}`)).status).toBe(200);

	await page.getByTestId('delete-open').click();
	await dialog.getByTestId('delete-confirm').click();
	await page.waitForURL(`${server.url}/`);
	await expect(page.locator(`[data-testid="execution-row"][data-id="${kept}"]`)).toBeVisible();
	await expect(page.locator(`[data-testid="execution-row"][data-id="${id}"]`)).toHaveCount(0);
	expect((await fetch(`${server.url}/api/executions/${id}`)).status).toBe(404);

	// The page that was watching says so, with the way back, and stops trying.
	const notice = watcher.getByTestId('execution-deleted');
	await expect(notice).toBeVisible();
	await expect(notice).toContainText('This execution was deleted');
	await expect(notice.getByRole('link', { name: 'Back to the executions list' })).toHaveAttribute('href', '/');
	await expect(watcher.getByTestId('event-row')).toHaveCount(0);

	// The open list dropped the row without a reload; the other one stays.
	await expect(row).toHaveCount(0);
	await expect(keptRow).toBeVisible();

	await notice.getByRole('link', { name: 'Back to the executions list' }).click();
	await watcher.waitForURL(`${server.url}/`);
	await expect(watcher.locator(`[data-testid="execution-row"][data-id="${kept}"]`)).toBeVisible();
});

test('a run deleted by the API disappears from an open list and from an open page', async ({ page, server }) => {
	const id = executionId('delete-api');
	await server.createExecution({ id, agent: { name: 'e2e-delete-api' } });
	await server.postEvents(id, [{ type: 'agent-start' }, { type: 'agent-complete' }]);

	const list = await page.context().newPage();
	await list.goto('/');
	const row = list.locator(`[data-testid="execution-row"][data-id="${id}"]`);
	await expect(row).toBeVisible();
	await expect(connectionState(list)).toHaveAttribute('data-state', 'open');
	await page.goto(`/executions/${id}`);
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');

	const response = await fetch(`${server.url}/api/executions/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${server.token}` } });
	expect(response.status).toBe(204);
	await expect(page.getByTestId('execution-deleted')).toBeVisible();
	await expect(row).toHaveCount(0);
});
