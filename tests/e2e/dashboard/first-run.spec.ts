// What a new user hit on their first runs (issue 10): a page opened before its execution exists,
// a running step's duration, the first rows of a finished run, the event detail on a phone, and
// the header's numbers (cost, start time, duration, the live indicator of a finished run).
import type { Locator, Page } from '@playwright/test';
import { expect, test } from '../support/fixtures.ts';
import { executionId, type EventInput } from '../support/runwatch.ts';
import { logs, researchRun } from '../support/script.ts';

const row = (page: Page, seq: number) => page.locator(`[data-testid="event-row"][data-seq="${seq}"]`);
const fact = (page: Page, name: string) =>
	page.locator('dl.facts > div').filter({ has: page.locator('dt', { hasText: new RegExp(`^${name}$`) }) }).locator('dd');

/** Milliseconds from what `formatMs` prints: `450 ms`, `11.1 s`, `1m 41s`, `2h 04m`. */
function parseMs(text: string): number {
	const t = text.trim();
	let m = /^(\d+) ms$/.exec(t);
	if (m) return Number(m[1]);
	m = /^(\d+(?:\.\d+)?) s$/.exec(t);
	if (m) return Number(m[1]) * 1000;
	m = /^(\d+)m (\d+)s$/.exec(t);
	if (m) return Number(m[1]) * 60_000 + Number(m[2]) * 1000;
	m = /^(\d+)h (\d+)m$/.exec(t);
	if (m) return Number(m[1]) * 3_600_000 + Number(m[2]) * 60_000;
	throw new Error(`not a duration: "${text}"`);
}

/** Events one `stepMs` apart, starting `agoMs` before now. */
function stamped(events: EventInput[], agoMs: number, stepMs: number): EventInput[] {
	const t0 = Date.now() - agoMs;
	return events.map((event, i) => ({ ...event, ts: new Date(t0 + i * stepMs).toISOString() }));
}

/** Whether the element at the centre of `locator`'s box is (inside) it: on screen and not covered. */
async function uncovered(page: Page, locator: Locator): Promise<boolean> {
	const box = await locator.boundingBox();
	if (!box) return false;
	return page.evaluate(
		({ x, y, seq }) => {
			const hit = document.elementFromPoint(x, y);
			return hit?.closest('[data-testid="event-row"]')?.getAttribute('data-seq') === seq;
		},
		{ x: box.x + box.width / 2, y: box.y + box.height / 2, seq: (await locator.getAttribute('data-seq')) ?? '' }
	);
}

test('a page opened before its execution exists waits for it, then goes live', async ({ page, server }) => {
	const id = executionId('early');
	await page.goto(`/executions/${id}`);
	await expect(page.getByTestId('waiting-for-execution')).toContainText(id);

	await server.createExecution({ id, agent: { name: 'e2e-early' } });
	await server.postEvents(id, [{ type: 'agent-start' }, { type: 'log', data: { level: 'info', message: 'first words' } }]);
	await expect(page.getByTestId('execution-status')).toHaveText('running');
	await expect(row(page, 2)).toContainText('first words');
	await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'open');

	// Live from there on, without a reload.
	await server.postEvents(id, { type: 'agent-complete' });
	await expect(page.getByTestId('execution-status')).toHaveText('completed');
	await expect(row(page, 3)).toBeVisible();
});

test('a running step shows how long it has run, as the header does, not the end of the chart scale', async ({ page, server }) => {
	const id = executionId('running-step');
	await server.createExecution({ id, agent: { name: 'e2e-running-step' } });
	// 101 s ago: the chart's scale ends at 150 s, far from the elapsed time.
	await server.postEvents(id, stamped([{ type: 'agent-start' }, { type: 'step-start', stepId: 'think', data: { name: 'think', kind: 'llm' } }], 101_000, 0));
	await page.goto(`/executions/${id}`);
	const label = row(page, 2).locator('.span-label');
	await expect(label).toContainText('running');
	await expect(fact(page, 'Duration')).toHaveText(/^\d+m \d+s$/);
	// Read together: both tick from the same clock, so they agree within a tick or two.
	const read = async () => {
		const [step, header] = await Promise.all([label.innerText(), fact(page, 'Duration').innerText()]);
		return Math.abs(parseMs(step.replace(/^running,\s*/, '')) - parseMs(header));
	};
	await expect.poll(read, { message: 'step duration minus header duration (ms)' }).toBeLessThanOrEqual(2000);
});

test('a finished run opens at its first event, not hidden under the bar above the rows', async ({ page, server }) => {
	const id = executionId('finished-top');
	await server.createExecution({ id, agent: { name: 'e2e-finished-top' } });
	await server.postEvents(id, stamped([...researchRun({ complete: false }), ...logs(40), { type: 'agent-complete' }], 60_000, 200));
	await page.goto(`/executions/${id}`);
	await expect(page.getByTestId('execution-status')).toHaveText('completed');
	await expect(page.getByTestId('timeline')).toContainText('From the first event');
	await expect.poll(() => uncovered(page, row(page, 1)), { message: 'row 1 is on screen and not covered' }).toBe(true);
	await expect.poll(() => uncovered(page, row(page, 2)), { message: 'row 2 is on screen and not covered' }).toBe(true);
});

test('phone: tapping an event opens its detail on screen, with a close button; step names stay readable', async ({ page, server }) => {
	await page.setViewportSize({ width: 390, height: 844 });
	const id = executionId('phone');
	await server.createExecution({ id, agent: { name: 'e2e-phone' } });
	await server.postEvents(
		id,
		stamped(
			[
				{ type: 'agent-start' },
				{ type: 'step-start', stepId: 'plan', data: { name: 'plan', kind: 'agent' } },
				{ type: 'step-start', stepId: 'tools', parentStepId: 'plan', data: { name: 'tools', kind: 'custom' } },
				{ type: 'step-start', stepId: 'py', parentStepId: 'tools', data: { name: 'python', kind: 'tool' } },
				...logs(30),
				{ type: 'step-end', stepId: 'py', parentStepId: 'tools', data: { error: { message: "KeyError: 'vendor_id'" } } },
				{ type: 'error', data: { message: "Tool python failed: KeyError: 'vendor_id'" } }
			],
			30_000,
			9
		)
	);
	await page.goto(`/executions/${id}`);
	await expect(page.getByTestId('execution-status')).toHaveText('failed');

	// One row for the failed step (its end, seq 35, is in it): it names the step in full, not "p…",
	// is marked failed, and says how long it took.
	await expect(row(page, 35)).toHaveCount(0);
	const failedStep = row(page, 4);
	await failedStep.scrollIntoViewIfNeeded();
	await expect(failedStep).toHaveClass(/\bbad\b/);
	const name = failedStep.locator('.name');
	await expect(name).toHaveText('python');
	expect(await name.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
	await expect(failedStep.locator('.took')).toBeVisible();

	await row(page, 4).scrollIntoViewIfNeeded();
	// Tap the row itself (its number), not the step's chevron, which opens the step in place.
	await row(page, 4).click({ position: { x: 24, y: 10 } });
	const detail = page.getByTestId('event-detail');
	await expect(detail).toContainText('Event #4');
	await expect(detail).toBeInViewport();
	const box = (await detail.boundingBox())!;
	expect(box.y + box.height).toBeLessThanOrEqual(844 + 1);
	expect(box.width).toBeLessThanOrEqual(390);
	await expect(detail.getByText('"name": "python"')).toBeInViewport();
	// The tapped row stays in sight above the sheet.
	await expect.poll(() => uncovered(page, row(page, 4)), { message: 'the tapped row is not under the sheet' }).toBe(true);

	await detail.getByRole('button', { name: 'Close' }).click();
	await expect(detail).not.toBeInViewport();
	await expect(row(page, 4)).toHaveAttribute('aria-selected', 'false');
});

test('the header: costs to four decimals, the start with its year and how long ago, a quiet indicator once ended, one duration basis', async ({ page, server }) => {
	const id = executionId('header');
	await server.createExecution({ id, agent: { name: 'e2e-header' } });
	await server.postEvents(id, [
		{ type: 'agent-start' },
		{ type: 'usage', data: { inputTokens: 1000, outputTokens: 100, costUsd: 0.0208 } },
		{ type: 'agent-complete' }
	]);
	await page.goto(`/executions/${id}`);
	await expect(fact(page, 'Cost')).toHaveText('$0.0208');
	await expect(fact(page, 'Started')).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC · (just now|\d+ min ago)$/);
	const indicator = page.getByTestId('connection-state');
	await expect(indicator).toHaveAttribute('data-state', 'open');
	await expect(indicator).not.toContainText('Live');

	await page.goto('/');
	const listed = page.locator(`[data-testid="execution-row"][data-id="${id}"]`);
	await expect(listed).toContainText('$0.0208');
	await expect(listed.locator('td.started')).toHaveText(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s*(just now|\d+ min ago)/);

	// An agent whose clock is ahead of the viewer's: the timeline is at +0.5 s, so is the header.
	const ahead = executionId('ahead');
	await server.createExecution({ id: ahead, agent: { name: 'e2e-ahead' } });
	await server.postEvents(ahead, stamped([{ type: 'agent-start' }, { type: 'log', data: { level: 'info', message: 'half a second in' } }], -30_000, 500));
	await page.goto(`/executions/${ahead}`);
	await expect(row(page, 2).locator('time')).toHaveText('+0.500 s');
	await expect(fact(page, 'Duration')).toHaveText('500 ms');
});
