// Today's totals count the viewer's day: the server renders the UTC day (it knows no time zone),
// and the page then reads the day from the viewer's own midnight.
import { expect, test } from '../support/fixtures.ts';
import { executionId } from '../support/runwatch.ts';

test.describe.configure({ timeout: 120_000 });

// Far from UTC, so that the viewer's midnight and UTC's differ whatever the hour.
test.use({ timezoneId: 'Pacific/Kiritimati' }); // UTC+14

test("the totals count from the viewer's midnight, not UTC's", async ({ page, server }) => {
	const id = executionId('day');
	await server.createExecution({ id, agent: { name: 'e2e-day' } });
	await server.postEvents(id, [{ type: 'agent-start' }, { type: 'agent-complete' }]);
	await page.goto(`${server.url}/`);
	await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'open');
	const localMidnight = await page.evaluate(() => {
		const now = new Date();
		return new Date(now.getFullYear(), now.getMonth(), now.getDate()).toISOString();
	});
	expect(localMidnight.endsWith('T10:00:00.000Z')).toBe(true); // 00:00 at UTC+14
	const heading = page.locator('#totals-title');
	await expect(heading).toHaveAttribute('data-since', localMidnight);
	await expect(heading).toHaveText('Today');
	await expect(page.getByTestId('day-totals').locator('[data-agent="e2e-day"]')).toContainText('1 run');
});
