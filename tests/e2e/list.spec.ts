// (d) The list at `/`: executions with their live status; when empty, how to send one and a
// demo agent that opens a live execution page.
import { connectionState, expect, rowSeqs, test } from './support/fixtures.ts';
import { executionId, seqs } from './support/runwatch.ts';
import { QUESTION } from './support/script.ts';

test('the list shows executions and their status changes live', async ({ page, server }) => {
	const done = executionId('list-done');
	const fails = executionId('list-fails');
	await server.createExecution({ id: done, agent: { name: 'e2e-list-agent' } });
	await server.createExecution({ id: fails, agent: { name: 'e2e-list-agent' } });
	await server.postEvents(done, { type: 'agent-start', data: { input: { question: QUESTION } } });

	await page.goto('/');
	const doneRow = page.locator(`[data-testid="execution-row"][data-id="${done}"]`);
	const failsRow = page.locator(`[data-testid="execution-row"][data-id="${fails}"]`);
	await expect(doneRow).toBeVisible();
	await expect(failsRow).toBeVisible();
	await expect(doneRow.getByTestId('execution-row-status')).toHaveText('running');
	await expect(failsRow.getByTestId('execution-row-status')).toHaveText('pending');
	await expect(page.getByTestId('empty-state')).toHaveCount(0);

	await server.postEvents(done, { type: 'agent-complete' });
	await server.postEvents(fails, [
		{ type: 'agent-start' },
		{ type: 'error', data: { message: 'tool timed out' } }
	]);
	await expect(doneRow.getByTestId('execution-row-status')).toHaveText('completed');
	await expect(failsRow.getByTestId('execution-row-status')).toHaveText('failed');
});

test('the empty list offers the demo agent, which leads to a live execution page', async ({
	page,
	freshServer: server
}) => {
	await page.goto(`${server.url}/`);
	const empty = page.getByTestId('empty-state');
	await expect(empty).toBeVisible();
	await expect(page.getByTestId('execution-row')).toHaveCount(0);
	// How to send one: a curl command with this server's real token.
	await expect(empty).toContainText('curl');
	await expect(empty).toContainText(server.token);

	await empty.getByRole('button', { name: 'Run demo agent' }).click();
	await page.waitForURL(/\/executions\/[A-Za-z0-9_-]+$/);
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
	const rowsAtLoad = (await rowSeqs(page)).length;

	// The demo keeps sending for a few seconds: the page fills in live, ending completed or failed.
	await expect(page.getByTestId('execution-status')).toHaveText(/^(completed|failed)$/, { timeout: 30_000 });
	const final = await rowSeqs(page);
	expect(final).toEqual(seqs(final.length));
	expect(final.length).toBeGreaterThan(rowsAtLoad);
	await expect(page.getByTestId('output')).not.toBeEmpty();

	// And the list now shows the demo's executions.
	await page.goto(`${server.url}/`);
	await expect(page.getByTestId('execution-row').first()).toBeVisible();
	await expect(page.getByTestId('empty-state')).toHaveCount(0);
});

test('the demo button leads on the empty page, and steps aside (small, secondary) once the list has executions', async ({
	page,
	freshServer: server
}) => {
	await page.goto(`${server.url}/`);
	const lead = page.getByTestId('empty-state').getByTestId('demo-button');
	await expect(lead).toBeVisible();
	await expect(lead).toHaveAttribute('data-compact', 'false');
	const leadBox = (await lead.boundingBox())!;
	const leadWeight = await lead.evaluate((el) => getComputedStyle(el).fontWeight);

	await server.createExecution({ id: executionId('demo-aside'), agent: { name: 'e2e-demo-aside' } });
	await page.goto(`${server.url}/`);
	await expect(page.getByTestId('execution-row').first()).toBeVisible();
	const aside = page.getByTestId('demo-button');
	await expect(aside).toHaveCount(1);
	await expect(aside).toHaveAttribute('data-compact', 'true');
	const asideBox = (await aside.boundingBox())!;
	expect(asideBox.height).toBeLessThan(leadBox.height);
	expect(asideBox.width).toBeLessThan(leadBox.width);
	expect(Number(await aside.evaluate((el) => getComputedStyle(el).fontWeight))).toBeLessThan(Number(leadWeight));
	// Not the filled accent button any more.
	expect(await aside.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgba(0, 0, 0, 0)');
});
