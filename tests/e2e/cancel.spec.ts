// Cancel from the page: the confirmation, the stored request shown at once in the header and the
// timeline, then the agent's `cancelled` ending the run.
import { connectionState, expect, test } from './support/fixtures.ts';
import { executionId } from './support/runwatch.ts';

test('Cancel asks for confirmation, shows the request at once, and the agent ending it', async ({ page, server }) => {
	const id = executionId('cancel');
	await server.createExecution({ id, agent: { name: 'e2e-cancel-agent' } });
	await server.postEvents(id, { type: 'agent-start' });

	await page.goto(`/executions/${id}`);
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
	const status = page.getByTestId('execution-status');
	await expect(status).toHaveText('running');

	// Keep running: nothing is sent.
	await page.getByTestId('cancel-open').click();
	const dialog = page.getByRole('dialog', { name: 'Cancel this run?' });
	await expect(dialog).toBeVisible();
	await dialog.getByRole('button', { name: 'Keep running' }).click();
	await expect(dialog).toBeHidden();
	await expect(status).toHaveText('running');

	await page.getByTestId('cancel-open').click();
	await dialog.getByLabel(/Reason/).fill('stuck <b>in</b> a loop');
	await dialog.getByTestId('cancel-confirm').click();
	await expect(dialog).toBeHidden();

	await expect(status).toHaveText('cancelling');
	await expect(page.getByTestId('cancel-note')).toContainText('Cancel requested');
	// Markup in the reason is shown as text.
	await expect(page.getByTestId('cancel-note')).toContainText('stuck <b>in</b> a loop');
	await expect(page.getByTestId('cancel-pending')).toBeVisible();
	await expect(page.getByTestId('event-row').filter({ hasText: 'cancel-requested' })).toHaveCount(1);

	// The agent stops and says so.
	await server.postEvents(id, { type: 'cancelled', data: { reason: 'stuck <b>in</b> a loop' } });
	await expect(status).toHaveText('cancelled');
	await expect(page.getByTestId('cancel-open')).toHaveCount(0);
	await expect(page.getByTestId('cancel-pending')).toHaveCount(0);
	await expect(page.getByTestId('cancel-note')).toContainText('Cancelled');
});

test('an ended run has no Cancel button', async ({ page, server }) => {
	const id = executionId('cancel-ended');
	await server.createExecution({ id, agent: { name: 'e2e-cancel-ended' } });
	await server.postEvents(id, [{ type: 'agent-start' }, { type: 'agent-complete' }]);
	await page.goto(`/executions/${id}`);
	await expect(page.getByTestId('execution-status')).toHaveText('completed');
	await expect(page.getByTestId('cancel-open')).toHaveCount(0);
});
