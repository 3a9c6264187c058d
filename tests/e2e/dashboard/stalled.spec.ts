// An execution that stops sending events shows as stalled after RUNWATCH_STALL_SECONDS, on its
// page and in the list, and recovers as soon as an event arrives. Derived in the browser from the
// last activity and a ticking clock: nothing is stored.
import type { Page } from '@playwright/test';
import { expect, test } from '../support/fixtures.ts';
import { executionId, RunwatchServer } from '../support/runwatch.ts';

const STALL_SECONDS = 2;

/**
 * Notes in the page when the stalled badge goes away. With a short stall time it comes back
 * seconds later; the observer sees the recovery however slowly the test looks.
 */
async function watchRecovery(page: Page): Promise<void> {
	await page.evaluate(() => {
		const w = window as unknown as { __recovered?: boolean };
		w.__recovered = false;
		const observer = new MutationObserver(() => {
			if (!document.querySelector('[data-testid="execution-stalled"]')) {
				w.__recovered = true;
				observer.disconnect();
			}
		});
		observer.observe(document.body, { childList: true, subtree: true });
	});
}

function recovered(page: Page): Promise<boolean> {
	return page.evaluate(() => (window as unknown as { __recovered?: boolean }).__recovered === true);
}

test('stalled after RUNWATCH_STALL_SECONDS without an event, on the page and in the list; an event brings it back', async ({ page, browser }) => {
	// Several waits for the clock to pass the stall time, each with room for a busy machine.
	test.setTimeout(150_000);
	const server = new RunwatchServer({ env: { RUNWATCH_STALL_SECONDS: String(STALL_SECONDS) } });
	await server.start();
	try {
		const id = executionId('stall');
		await server.createExecution({ id, agent: { name: 'e2e-stall' } });
		await server.postEvents(id, { type: 'agent-start' });

		await page.goto(`${server.url}/executions/${id}`);
		await expect(page.getByTestId('execution-status')).toHaveText('running');
		const stalled = page.getByTestId('execution-stalled');
		await expect(stalled).toBeVisible({ timeout: 20_000 });
		await expect(stalled).toContainText('stalled');

		const list = await browser.newPage();
		await list.goto(`${server.url}/`);
		const listed = list.locator(`[data-testid="execution-row"][data-id="${id}"]`);
		await expect(listed.getByTestId('execution-row-status')).toHaveText('running');
		await expect(listed.getByTestId('execution-stalled')).toBeVisible({ timeout: 20_000 });

		// An event: both recover, live, and stall again once quiet.
		await watchRecovery(page);
		await watchRecovery(list);
		await server.postEvents(id, { type: 'log', data: { level: 'info', message: 'still here' } });
		await expect.poll(() => recovered(page), { message: 'the page recovered' }).toBe(true);
		await expect.poll(() => recovered(list), { message: 'the list recovered' }).toBe(true);
		await expect(listed.locator('td[data-label="Events"]')).toHaveText('2');
		await expect(stalled).toBeVisible({ timeout: 20_000 });
		await expect(listed.getByTestId('execution-stalled')).toBeVisible({ timeout: 20_000 });

		// An ended execution is never stalled.
		await server.postEvents(id, { type: 'agent-complete' });
		await expect(page.getByTestId('execution-status')).toHaveText('completed');
		await expect(stalled).toHaveCount(0);
		await expect(listed.getByTestId('execution-stalled')).toHaveCount(0);
		await page.waitForTimeout(STALL_SECONDS * 1000 + 1500);
		await expect(stalled).toHaveCount(0);
		await list.close();
	} finally {
		await server.dispose();
	}
});
