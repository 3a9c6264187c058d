// What people came to see: the agent in the header (its fields, metadata, input and output),
// each step expanded in place, links to one event, search over everything stored, and today's
// totals above the list, live.
import { expect, test } from '../support/fixtures.ts';
import { executionId, type EventInput } from '../support/runwatch.ts';
import { ANSWER_PARTS, QUESTION, researchRun } from '../support/script.ts';

// Correctness on a busy machine, not latency: each test may take its time.
test.describe.configure({ timeout: 120_000 });

const row = (page: import('@playwright/test').Page, seq: number) => page.locator(`[data-testid="event-row"][data-seq="${seq}"]`);

test('the header shows the agent, its metadata, the input and the final output; long values expand', async ({ page, server }) => {
	const id = executionId('story-header');
	await server.createExecution({
		id,
		agent: { name: 'e2e-researcher', model: 'gpt-4.1', version: '2.3' },
		metadata: { repo: 'acme/billing', ticket: 'OPS-1234' }
	});
	const longAnswer = Array.from({ length: 12 }, (_, i) => `Finding ${i + 1}: service ${i + 1} still pins Node 18.`).join('\n');
	await server.postEvents(id, [...researchRun({ complete: false }), { type: 'agent-complete', data: { output: longAnswer } }]);

	await page.goto(`/executions/${id}`);
	const header = page.locator('header.card');
	await expect(header.locator('[data-testid="agent-fact"][data-key="model"]')).toHaveText('model gpt-4.1');
	await expect(header.locator('[data-testid="agent-fact"][data-key="version"]')).toHaveText('version 2.3');
	await expect(header.locator('[data-testid="metadata"][data-key="repo"]')).toHaveText('repo acme/billing');
	await expect(header.locator('[data-testid="metadata"][data-key="ticket"]')).toHaveText('ticket OPS-1234');
	await expect(page.getByTestId('execution-input')).toContainText(QUESTION);
	const output = page.getByTestId('execution-output');
	await expect(output).toContainText('Finding 1:');
	// Long: collapsed to a few lines until asked for.
	const pre = output.locator('pre');
	const collapsed = await pre.evaluate((el) => el.clientHeight);
	await output.getByRole('button', { name: 'Show all' }).click();
	await expect(output.getByRole('button', { name: 'Show less' })).toHaveAttribute('aria-expanded', 'true');
	await expect.poll(() => pre.evaluate((el) => el.clientHeight)).toBeGreaterThan(collapsed * 2);
	await expect(output).toContainText('Finding 12:');
});

test('the header finds the input of a long execution whose start is older than the page window', async ({ page, server }) => {
	const id = executionId('story-old-start');
	await server.createExecution({ id, agent: { name: 'e2e-long' } });
	const filler: EventInput[] = Array.from({ length: 900 }, (_, i) => ({ type: 'log', data: { level: 'info', message: `n${i}` } }));
	await server.postEvents(id, [{ type: 'agent-start', data: { input: { task: 'reconcile March' } } }, ...filler]);
	await page.goto(`/executions/${id}`);
	await expect(row(page, 901)).toBeVisible();
	await expect(row(page, 1)).toHaveCount(0);
	await expect(page.getByTestId('execution-input')).toContainText('reconcile March');
});

test('a step expands in place: an LLM step its model and tokens, a tool step its arguments, result and error', async ({ page, server }) => {
	const id = executionId('story-steps');
	await server.createExecution({ id, agent: { name: 'e2e-steps' } });
	await server.postEvents(id, [
		...researchRun({ complete: false }),
		{ type: 'step-start', stepId: 'py', data: { name: 'python', kind: 'tool', input: { code: 'ledger.reconcile(invoices)' } } },
		{ type: 'step-end', stepId: 'py', data: { error: { message: "KeyError: 'vendor_id'", stack: 'Traceback: line 3' } } }
	]);
	await page.goto(`/executions/${id}`);

	// One row per step: seq 3 is repo_search (tool, ended at 4), seq 5 answer (llm, ended at 8), seq 9
	// python (ended at 10, failed). The step-ends have no rows of their own.
	for (const end of [4, 8, 10]) await expect(row(page, end)).toHaveCount(0);
	await expect(page.getByTestId('event-row')).toHaveCount(7);
	await expect(row(page, 9)).toHaveClass(/\bbad\b/);
	await expect(row(page, 9)).toContainText('failed after');
	await row(page, 3).getByTestId('step-toggle').click();
	const search = page.locator('[data-testid="step-detail"][data-step="search"]');
	await expect(search.getByTestId('step-input')).toContainText('Arguments');
	await expect(search.getByTestId('step-input')).toContainText('"query": "\\"node\\": \\"18"');
	await expect(search.getByTestId('step-output')).toContainText('Result');
	await expect(search.getByTestId('step-output')).toContainText('"matches": 3');
	await expect(search.getByTestId('step-duration')).not.toBeEmpty();
	// In place: between its own row and the next one.
	const [rowBox, detailBox, nextBox] = await Promise.all([row(page, 3).boundingBox(), search.boundingBox(), row(page, 5).boundingBox()]);
	expect(detailBox!.y).toBeGreaterThanOrEqual(rowBox!.y + rowBox!.height - 1);
	expect(nextBox!.y).toBeGreaterThanOrEqual(detailBox!.y + detailBox!.height - 1);

	// Keyboard: → opens the selected step, ← closes it.
	await row(page, 5).click();
	await page.keyboard.press('ArrowRight');
	const answer = page.locator('[data-testid="step-detail"][data-step="answer"]');
	await expect(answer.getByTestId('step-model')).toHaveText('gpt-4.1');
	await expect(answer.getByTestId('step-tokens')).toHaveText('812 in · 64 out · $0.0042');
	await page.keyboard.press('ArrowLeft');
	await expect(answer).toHaveCount(0);

	await row(page, 9).getByTestId('step-toggle').click();
	const python = page.locator('[data-testid="step-detail"][data-step="py"]');
	await expect(python.getByTestId('step-input')).toContainText('ledger.reconcile(invoices)');
	await expect(python.getByTestId('step-error')).toContainText("KeyError: 'vendor_id'");
	await expect(python.getByTestId('step-duration')).toContainText('failed');
	// Closing it again leaves the row alone.
	await row(page, 9).getByTestId('step-toggle').click();
	await expect(python).toHaveCount(0);
	await expect(search).toBeVisible();

	// A search that matches only the step-end (its error) finds the step's row; so does the type step-end.
	await page.getByLabel('Search events').fill('vendor_id');
	await expect(page.getByTestId('event-row')).toHaveCount(1);
	await expect(row(page, 9)).toBeVisible();
	await page.getByLabel('Search events').fill('');
	await page.getByRole('group', { name: 'Filter by event type' }).getByRole('button', { name: /^step-end/ }).click();
	await expect.poll(() => page.getByTestId('event-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-seq')))).toEqual(['3', '5', '9']);
	await page.getByRole('button', { name: 'Clear filters' }).first().click();

	// A link to the step-end selects the step's row and opens it: input and error in one place.
	await page.goto(`/executions/${id}#seq-10`);
	await expect(row(page, 9)).toHaveAttribute('aria-selected', 'true');
	await expect(python.getByTestId('step-input')).toContainText('ledger.reconcile(invoices)');
	await expect(python.getByTestId('step-error')).toContainText("KeyError: 'vendor_id'");
	await expect(page.getByTestId('event-detail')).toContainText('Event #9 · end #10');
});

test('a link to one event opens it scrolled into view and selected, loading older pages; Copy link copies it', async ({ page, context, server }) => {
	// Older pages load one after another: generous on a busy machine, a correctness check only.
	test.setTimeout(120_000);
	const id = executionId('story-link');
	await server.createExecution({ id, agent: { name: 'e2e-link' } });
	const events: EventInput[] = Array.from({ length: 1500 }, (_, i) => ({ type: 'log', data: { level: 'info', message: `entry ${i + 1}` } }));
	events[41] = { type: 'step-start', stepId: 'deep', data: { name: 'deep_tool', kind: 'tool', input: { path: '/var/ledger' } } };
	events[42] = { type: 'step-end', stepId: 'deep', data: { output: 'ok' } };
	for (let i = 0; i < events.length; i += 1000) await server.postEvents(id, events.slice(i, i + 1000));

	await context.grantPermissions(['clipboard-read', 'clipboard-write']);
	// Seq 43 is the step-end of the step that starts at 42: the link selects the step's row.
	await page.goto(`/executions/${id}#seq-43`);
	// Two older pages come first; on a busy machine that takes a while.
	await expect(row(page, 42)).toHaveAttribute('aria-selected', 'true', { timeout: 60_000 });
	await expect(row(page, 42)).toBeInViewport();
	await expect(row(page, 43)).toHaveCount(0);
	// A step's row opens in place, with its start's input and its end's output.
	const deep = page.locator('[data-testid="step-detail"][data-step="deep"]');
	await expect(deep.getByTestId('step-input')).toContainText('/var/ledger');
	await expect(deep.getByTestId('step-output')).toContainText('ok');
	await expect(page.getByTestId('event-detail')).toContainText('Event #42 · end #43');

	// Copy link copies the step's row, #42.
	await page.getByRole('button', { name: 'Copy link to #42' }).click();
	await expect(page.getByText('Link copied')).toBeVisible();
	expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${server.url}/executions/${id}#seq-42`);
});

test('?event=N opens that event too; one that does not exist says so', async ({ page, server }) => {
	test.setTimeout(120_000);
	const id = executionId('story-query-link');
	await server.createExecution({ id, agent: { name: 'e2e-link' } });
	await server.postEvents(id, Array.from({ length: 800 }, (_, i) => ({ type: 'log', data: { level: 'info', message: `entry ${i + 1}` } })));
	await page.goto(`/executions/${id}?event=150`);
	await expect(row(page, 150)).toHaveAttribute('aria-selected', 'true', { timeout: 60_000 });
	await expect(row(page, 150)).toBeInViewport();
	await expect(page.getByTestId('event-detail')).toContainText('entry 150');

	await page.goto(`/executions/${id}#seq-99999`);
	await expect(page.getByTestId('link-state')).toContainText('Event #99999 is not in this execution (yet)');
});

test('search covers every stored event: matches not loaded yet are listed and open on click', async ({ page, server }) => {
	test.setTimeout(120_000);
	const id = executionId('story-search');
	await server.createExecution({ id, agent: { name: 'e2e-search' } });
	const events: EventInput[] = Array.from({ length: 2000 }, (_, i) => ({ type: 'log', data: { level: 'info', message: `entry ${i + 1}` } }));
	events[9] = { type: 'log', data: { level: 'error', message: 'Ledger export refused: quota exceeded' } };
	for (let i = 0; i < events.length; i += 1000) await server.postEvents(id, events.slice(i, i + 1000));

	await page.goto(`/executions/${id}`);
	await expect(row(page, 2000)).toBeVisible();
	await page.getByLabel('Search events').fill('quota exceeded');
	const earlier = page.getByTestId('earlier-matches');
	await expect(earlier).toContainText('1 match in earlier events');
	await earlier.locator('[data-testid="earlier-match"][data-seq="10"]').click();
	await expect(row(page, 10)).toHaveAttribute('aria-selected', 'true', { timeout: 60_000 });
	await expect(row(page, 10)).toBeInViewport();
	await expect(page.getByTestId('event-detail')).toContainText('quota exceeded');
});

test("above the list: today's runs, failures, tokens and cost per agent, live; the agent filter knows every agent", async ({ page, freshServer: server }) => {
	const a = executionId('tot-a');
	await server.createExecution({ id: a, agent: { name: 'e2e-biller' } });
	await server.postEvents(a, [{ type: 'agent-start' }, { type: 'usage', data: { inputTokens: 100, outputTokens: 20, costUsd: 0.0208 } }]);
	// Many executions of another agent push "e2e-rare" off the first page.
	await server.createExecution({ id: executionId('rare'), agent: { name: 'e2e-rare' } });
	for (let i = 0; i < 3; i++) await server.createExecution({ id: executionId(`fill-${i}`), agent: { name: 'e2e-filler' } });

	await page.goto(`${server.url}/?limit=2`);
	await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'open');
	const totals = page.getByTestId('day-totals');
	await expect(totals.getByTestId('totals-runs')).toHaveText('5');
	await expect(totals.getByTestId('totals-failed')).toHaveText('0');
	await expect(totals.getByTestId('totals-tokens')).toHaveText('120');
	await expect(totals.getByTestId('totals-cost')).toHaveText('$0.0208');
	await expect(totals.locator('[data-agent="e2e-biller"]')).toContainText('1 run');
	await expect(totals.locator('[data-agent="e2e-filler"]')).toContainText('3 runs');
	// The filter offers an agent that is not on this page.
	await expect(page.locator('#agent-names option[value="e2e-rare"]')).toHaveCount(1);

	// Live: an open execution moves, a new one is added, a failure counts.
	await server.postEvents(a, [{ type: 'usage', data: { inputTokens: 10, outputTokens: 0, costUsd: 0.01 } }, { type: 'error', data: { message: 'quota' } }]);
	await expect(totals.getByTestId('totals-failed')).toHaveText('1');
	await expect(totals.getByTestId('totals-tokens')).toHaveText('130');
	await expect(totals.getByTestId('totals-cost')).toHaveText('$0.0308');
	await expect(totals.locator('[data-agent="e2e-biller"]')).toContainText('1 failed');
	const b = executionId('tot-b');
	await server.createExecution({ id: b, agent: { name: 'e2e-courier' } });
	await server.postEvents(b, [{ type: 'agent-start' }, { type: 'usage', data: { inputTokens: 5, outputTokens: 5, costUsd: 1.5 } }, { type: 'agent-complete' }]);
	await expect(totals.getByTestId('totals-runs')).toHaveText('6');
	await expect(totals.getByTestId('totals-cost')).toHaveText('$1.53');
	await expect(totals.locator('[data-agent="e2e-courier"]')).toContainText('1 run');
	// A reload agrees with what the page worked out live.
	await page.reload();
	await expect(totals.getByTestId('totals-runs')).toHaveText('6');
	await expect(totals.getByTestId('totals-tokens')).toHaveText('140');
	await expect(totals.getByTestId('totals-cost')).toHaveText('$1.53');
});
