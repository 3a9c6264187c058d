// (e) Pictures of the list and of an execution page, saved to test-results/screenshots/ for
// people to look at, with assertions on what they must show. (No pixel comparison: times such as
// "3 s ago" and font differences between machines would make it flaky.)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connectionState, expect, expectRowSeqs, test } from './support/fixtures.ts';
import { PROJECT_ROOT, executionId, seqs } from './support/runwatch.ts';
import { ANSWER_PARTS, logs, researchRun } from './support/script.ts';

const SCREENSHOT_DIR = join(PROJECT_ROOT, 'test-results/screenshots');

test('screenshots of the list and an execution page', async ({ page, freshServer: server }, testInfo) => {
	mkdirSync(SCREENSHOT_DIR, { recursive: true });

	// A new server: the empty state, with the curl line and the demo button.
	await page.goto(`${server.url}/`);
	await expect(page.getByTestId('empty-state')).toBeVisible();
	await expect(page.getByTestId('empty-state').getByRole('button', { name: 'Run demo agent' })).toBeVisible();
	const empty = join(SCREENSHOT_DIR, 'list-empty.png');
	await page.screenshot({ path: empty, fullPage: true, animations: 'disabled' });
	await testInfo.attach('list-empty', { path: empty, contentType: 'image/png' });

	const completed = executionId('research');
	const failed = executionId('reconcile');
	const running = executionId('triage');
	await server.createExecution({ id: failed, agent: { name: 'invoice-reconciler' }, department: { name: 'Finance' } });
	await server.postEvents(failed, [
		{ type: 'agent-start', data: { input: { month: '2025-10' } } },
		{ type: 'step-start', stepId: 'ledger', data: { name: 'fetch_ledger', kind: 'tool' } },
		{ type: 'step-end', stepId: 'ledger', data: { error: 'ledger API returned 503' } },
		{ type: 'error', data: { message: 'Could not read the ledger: service unavailable' } }
	]);
	await server.createExecution({ id: running, agent: { name: 'ticket-triage' }, department: { name: 'Support' } });
	await server.postEvents(running, [{ type: 'agent-start' }, ...logs(2)]);
	await server.createExecution({ id: completed, agent: { name: 'research-assistant' }, department: { name: 'Platform' } });
	const events = researchRun();
	await server.postEvents(completed, events);

	await page.goto(`${server.url}/`);
	for (const id of [completed, failed, running]) {
		await expect(page.locator(`[data-testid="execution-row"][data-id="${id}"]`)).toBeVisible();
	}
	await expect(page.getByTestId('execution-row')).toHaveCount(3);
	await expect(page.locator(`[data-testid="execution-row"][data-id="${failed}"]`).getByTestId('execution-row-status')).toHaveText('failed');
	await expect(page.getByText('research-assistant').first()).toBeVisible();
	const list = join(SCREENSHOT_DIR, 'list.png');
	await page.screenshot({ path: list, fullPage: true, animations: 'disabled' });
	await testInfo.attach('list', { path: list, contentType: 'image/png' });

	await page.goto(`${server.url}/executions/${completed}`);
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
	await expectRowSeqs(page, seqs(events.length));
	await expect(page.getByTestId('execution-status')).toHaveText('completed');
	await expect(page.getByTestId('output')).toContainText(ANSWER_PARTS.join(''));
	await expect(page.getByText('research-assistant').first()).toBeVisible();
	await expect(page.getByText('Platform').first()).toBeVisible();
	await expect(page.getByTestId('connection-banner')).toHaveCount(0);
	const execution = join(SCREENSHOT_DIR, 'execution.png');
	await page.screenshot({ path: execution, fullPage: true, animations: 'disabled' });
	await testInfo.attach('execution', { path: execution, contentType: 'image/png' });

	// The same page while the server is away: the banner must be visible in the picture.
	await server.stop('SIGTERM');
	await expect(page.getByTestId('connection-banner')).toBeVisible();
	const offline = join(SCREENSHOT_DIR, 'execution-reconnecting.png');
	await page.screenshot({ path: offline, fullPage: true, animations: 'disabled' });
	await testInfo.attach('execution-reconnecting', { path: offline, contentType: 'image/png' });
});
