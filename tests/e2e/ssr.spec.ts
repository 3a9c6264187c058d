// (c) The shareable page is rendered on the server: without JavaScript the events so far are
// in the HTML; with JavaScript it goes live from exactly that seq, repeating nothing.
import { connectionState, expect, expectRowSeqs, rowSeqs, test } from './support/fixtures.ts';
import { executionId, seqs } from './support/runwatch.ts';
import { ANSWER_PARTS, researchRun } from './support/script.ts';

test('with JavaScript disabled, the events so far are in the server-rendered HTML', async ({ browser, server }) => {
	const id = executionId('ssr');
	await server.createExecution({ id, agent: { name: 'e2e-ssr-agent' }, department: { name: 'Platform' } });
	const events = researchRun();
	await server.postEvents(id, events);

	// The raw HTML, as a crawler or a link preview sees it.
	const response = await fetch(`${server.url}/executions/${id}`);
	expect(response.status).toBe(200);
	const html = await response.text();
	// Every event has its row, or is the step-end of a step's row (data-end-seq).
	for (const seq of seqs(events.length)) expect(html).toMatch(new RegExp(`data-(end-)?seq="${seq}"`));
	expect(html).toContain(ANSWER_PARTS[1]);

	const context = await browser.newContext({ javaScriptEnabled: false, baseURL: server.url });
	try {
		const page = await context.newPage();
		await page.goto(`/executions/${id}`);
		expect(await rowSeqs(page)).toEqual(seqs(events.length));
		await expect(page.getByTestId('execution-status')).toHaveText('completed');
		await expect(page.getByTestId('output')).toContainText(ANSWER_PARTS.join(''));
		await expect(page.getByText('e2e-ssr-agent').first()).toBeVisible();
		await expect(page.getByText('Platform').first()).toBeVisible();
	} finally {
		await context.close();
	}
});

test('the rendered page goes live from its last seq without repeating or dropping an event', async ({ page, server }) => {
	const id = executionId('hydrate');
	await server.createExecution({ id, agent: { name: 'e2e-hydrate-agent' } });
	const events = researchRun({ complete: false });
	await server.postEvents(id, events);

	await page.goto(`/executions/${id}`);
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
	// Give a wrongly replayed subscription time to show duplicates before checking.
	await page.waitForTimeout(500);
	expect(await rowSeqs(page)).toEqual(seqs(events.length));
	await expect(page.getByTestId('execution-status')).toHaveText('running');

	await server.postEvents(id, { type: 'agent-complete' });
	await expectRowSeqs(page, seqs(events.length + 1));
	await expect(page.getByTestId('execution-status')).toHaveText('completed');
	// The output streamed before the page loaded is shown once, not twice.
	await expect(page.getByTestId('output')).toHaveText(ANSWER_PARTS.join(''));
});
