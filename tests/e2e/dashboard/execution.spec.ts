// The execution page as a product: scrolling back to the first event, filters and search, the
// detail panel, ANSI output that follows the tail, running steps, copy link and NDJSON download.
import { expect, test } from '../support/fixtures.ts';
import { executionId, type EventInput } from '../support/runwatch.ts';
import { researchRun } from '../support/script.ts';

const row = (page: import('@playwright/test').Page, seq: number) => page.locator(`[data-testid="event-row"][data-seq="${seq}"]`);

test('the page renders the newest window and the first event stays reachable by scrolling back', async ({ page, server }) => {
	const id = executionId('scrollback');
	await server.createExecution({ id, agent: { name: 'e2e-scrollback' } });
	const logs: EventInput[] = Array.from({ length: 1500 }, (_, i) => ({ type: 'log', data: { level: 'info', message: `note ${i + 1}` } }));
	await server.postEvents(id, logs.slice(0, 1000));
	await server.postEvents(id, logs.slice(1000));

	const html = await (await fetch(`${server.url}/executions/${id}`)).text();
	expect(html).toContain('data-seq="1500"');
	expect(html).not.toContain('data-seq="1000"');

	const olderRequests: string[] = [];
	page.on('request', (r) => {
		if (r.url().includes('/events?before=')) olderRequests.push(new URL(r.url()).search);
	});
	await page.goto(`/executions/${id}`);
	await expect(row(page, 1500)).toBeVisible();
	await expect(page.getByTestId('timeline')).toContainText('Showing events from #1,201');

	// Keyboard: Home selects the first held row and asks for the page before it, until seq 1.
	// Done when seq 1 is the selected row: merely being in the DOM is not enough, since the
	// virtual list may render it for a moment while it keeps the scroll position over a prepend.
	const listbox = page.getByRole('listbox');
	await listbox.focus();
	await expect
		.poll(
			async () => {
				await page.keyboard.press('Home');
				return row(page, 1).evaluateAll((rows) => rows.length === 1 && rows[0]!.getAttribute('aria-selected') === 'true');
			},
			{ timeout: 15_000, message: 'the first event is reachable' }
		)
		.toBe(true);
	await expect(row(page, 1)).toBeVisible();
	await expect(row(page, 1)).toHaveAttribute('aria-selected', 'true');
	await expect(page.getByTestId('timeline')).toContainText('From the first event');
	expect(olderRequests[0]).toBe('?before=1201&limit=500');
	await expect(page.getByTestId('event-detail')).toContainText('note 1"');
});

test('filter by type, search, and the detail panel with raw JSON and the stack of an error', async ({ page, server }) => {
	const id = executionId('filters');
	await server.createExecution({ id, agent: { name: 'e2e-filters' } });
	const events = researchRun({ complete: false });
	await server.postEvents(id, [
		...events,
		{ type: 'error', data: { message: 'Ledger unavailable', stack: 'Error: Ledger unavailable\n    at fetchLedger (ledger.ts:12:7)' } }
	]);
	const errorSeq = events.length + 1;

	await page.goto(`/executions/${id}`);
	await expect(page.getByTestId('execution-status')).toHaveText('failed');
	// The failure is in the header, with its stack.
	await expect(page.getByTestId('execution-error')).toContainText('Ledger unavailable');
	await expect(page.getByTestId('execution-error')).toContainText('at fetchLedger (ledger.ts:12:7)');

	await page.getByRole('group', { name: 'Filter by event type' }).getByRole('button', { name: /^step-start/ }).click();
	await expect(page.getByTestId('event-row')).toHaveCount(2);
	// One row per step: the two step-ends are in their steps' rows.
	const rows = errorSeq - 2;
	await expect(page.getByText(`2 of ${rows} rows match`)).toBeVisible();
	await page.getByRole('button', { name: 'Clear filters' }).first().click();
	await expect(page.getByTestId('event-row')).toHaveCount(rows);
	await expect(page.getByText(`${errorSeq} events in ${rows} rows`)).toBeVisible();

	await page.getByLabel('Search events').fill('GPT-4.1');
	await expect(page.getByTestId('event-row')).toHaveCount(1);
	await page.getByLabel('Search events').fill('');
	await expect(page.getByTestId('event-row')).toHaveCount(rows);

	await row(page, errorSeq).click();
	const detail = page.getByTestId('event-detail');
	await expect(detail).toContainText(`Event #${errorSeq}`);
	await expect(detail).toContainText('"type": "error"');
	await expect(detail).toContainText('at fetchLedger');
	// Arrow keys move the selection, over rows as shown: up from the error is the answer's last
	// output (the step-end before the error is in the answer step's row), then up to that row (seq 5).
	await page.keyboard.press('ArrowUp');
	await expect(row(page, errorSeq - 2)).toHaveAttribute('aria-selected', 'true');
	await expect(detail).toContainText(`Event #${errorSeq - 2}`);
	await page.keyboard.press('ArrowUp');
	await page.keyboard.press('ArrowUp');
	await expect(row(page, 5)).toHaveAttribute('aria-selected', 'true');
	await expect(detail).toContainText(`Event #5 · end #${errorSeq - 1}`);
});

test('ANSI output in colour, following the tail until the person scrolls up, then "Jump to latest"', async ({ page, server }) => {
	const id = executionId('output');
	await server.createExecution({ id, agent: { name: 'e2e-output' } });
	await server.postEvents(id, [
		{ type: 'agent-start' },
		{ type: 'step-start', stepId: 'build', data: { name: 'build', kind: 'tool' } },
		{ type: 'output', stepId: 'build', data: { text: '\x1b[31mred alert\x1b[0m and <b>not bold</b>\n' } }
	]);
	await page.goto(`/executions/${id}`);
	const output = page.getByTestId('output');
	await expect(output.locator('.ansi-red-fg')).toHaveText('red alert');
	await expect(output).toContainText('<b>not bold</b>');
	// A step that started and has not ended is running.
	await expect(row(page, 2)).toContainText('running');

	await server.postEvents(id, Array.from({ length: 120 }, (_, i) => ({ type: 'output', stepId: 'build', data: { text: `line ${i}\n` } })));
	const scroller = page.getByRole('region', { name: 'Output text' });
	await expect(output).toContainText('line 119');
	await expect.poll(() => scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)).toBeLessThan(40);

	await scroller.hover();
	await page.mouse.wheel(0, -600);
	const jump = page.getByRole('button', { name: /Jump to latest/ }).first();
	await expect(jump).toBeVisible();
	await server.postEvents(id, { type: 'output', stepId: 'build', data: { text: 'after the pause\n' } });
	await expect(jump).toContainText('1 new');
	const paused = await scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
	expect(paused).toBeGreaterThan(100);
	await jump.click();
	await expect.poll(() => scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)).toBeLessThan(40);
	await expect(jump).toHaveCount(0);
});

test('copy link and download the whole execution as NDJSON', async ({ page, context, server }) => {
	const id = executionId('download');
	await server.createExecution({ id, agent: { name: 'e2e-download' } });
	const events: EventInput[] = Array.from({ length: 2500 }, (_, i) => ({ type: 'log', data: { level: 'info', message: `n${i + 1}` } }));
	for (let i = 0; i < events.length; i += 1000) await server.postEvents(id, events.slice(i, i + 1000));

	await context.grantPermissions(['clipboard-read', 'clipboard-write']);
	await page.goto(`/executions/${id}`);
	await page.getByRole('button', { name: 'Copy link' }).click();
	await expect(page.getByText('Link copied')).toBeVisible();
	expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${server.url}/executions/${id}`);

	const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download NDJSON' }).click()]);
	expect(download.suggestedFilename()).toBe(`${id}.ndjson`);
	const stream = await download.createReadStream();
	let text = '';
	for await (const chunk of stream) text += chunk.toString();
	const lines = text.trimEnd().split('\n').map((line) => JSON.parse(line) as { seq: number });
	expect(lines).toHaveLength(2500);
	expect(lines.map((e) => e.seq)).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
});
