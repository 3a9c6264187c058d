// Pictures of the dashboard for people (and the README): the list, a running and a failed
// execution, in light and dark, and at phone width. Saved to test-results/screenshots/dashboard-*;
// with UPDATE_DOCS_SCREENSHOTS=1 the README's set is also copied to docs/screenshots/ (a test run
// must not change tracked files). Assertions check what each must show.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from '../support/fixtures.ts';
import { PROJECT_ROOT, executionId, type EventInput, type RunwatchServer } from '../support/runwatch.ts';
import { researchRun } from '../support/script.ts';

const SHOTS = join(PROJECT_ROOT, 'test-results/screenshots');
const DOCS = join(PROJECT_ROOT, 'docs/screenshots');
const UPDATE_DOCS = process.env.UPDATE_DOCS_SCREENSHOTS === '1';

/** Seconds ago, as an ISO timestamp: the demo's times look like a real run. */
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

async function seed(server: RunwatchServer) {
	const failed = executionId('reconcile');
	const running = executionId('triage');
	const done = executionId('research');
	await server.createExecution({
		id: done,
		agent: { name: 'research-assistant', model: 'gpt-4.1' },
		department: { name: 'Platform' },
		metadata: { repo: 'acme/platform', ticket: 'PLAT-311' }
	});
	await server.postEvents(done, researchRun().map((e, i) => ({ ...e, ts: ago(60_000 - i * 900) })));

	await server.createExecution({
		id: failed,
		agent: { name: 'invoice-reconciler', model: 'gpt-4.1-mini', version: '1.4.0' },
		department: { name: 'Finance' },
		metadata: { ledger: 'EU-main', ticket: 'FIN-2207' }
	});
	const t = 40_000;
	await server.postEvents(failed, [
		{ type: 'agent-start', ts: ago(t), data: { input: { month: '2025-10' } } },
		{ type: 'step-start', stepId: 'plan', ts: ago(t - 300), data: { name: 'plan', kind: 'llm', input: { model: 'gpt-4.1' } } },
		{ type: 'output', stepId: 'plan', ts: ago(t - 1500), data: { text: 'Plan: fetch the ledger, match invoices, report gaps.\n' } },
		{ type: 'step-end', stepId: 'plan', ts: ago(t - 2600), data: { usage: { inputTokens: 912, outputTokens: 88, costUsd: 0.0031 } } },
		{ type: 'step-start', stepId: 'ledger', ts: ago(t - 2800), data: { name: 'fetch_ledger', kind: 'tool', input: { month: '2025-10', account: 'EU-main' } } },
		{ type: 'log', stepId: 'ledger', ts: ago(t - 5000), data: { level: 'warn', message: 'ledger API slow: retrying (1/3)' } },
		{ type: 'output', stepId: 'ledger', ts: ago(t - 6000), data: { text: '\x1b[33mretry\x1b[0m GET /ledger?month=2025-10 → \x1b[31m503\x1b[0m\n' } },
		{ type: 'step-end', stepId: 'ledger', ts: ago(t - 9000), data: { error: { message: 'ledger API returned 503' } } },
		{
			type: 'error',
			ts: ago(t - 9100),
			data: {
				message: 'Could not read the ledger: service unavailable',
				stack: 'LedgerError: service unavailable\n    at fetchLedger (tools/ledger.ts:41:11)\n    at reconcile (agent.ts:88:5)'
			}
		}
	]);

	await server.createExecution({
		id: running,
		agent: { name: 'ticket-triage', model: 'gpt-4.1-mini' },
		department: { name: 'Support' },
		metadata: { queue: 'billing', ticket: 'ZD-4821' }
	});
	const r = 20_000;
	const events: EventInput[] = [
		{ type: 'agent-start', ts: ago(r), data: { input: { ticket: 'ZD-4821' } } },
		{ type: 'step-start', stepId: 'classify', ts: ago(r - 200), data: { name: 'classify', kind: 'llm', input: { model: 'gpt-4.1-mini' } } },
		{ type: 'output', stepId: 'classify', ts: ago(r - 900), data: { text: '\x1b[1mCategory:\x1b[0m billing · \x1b[32mconfidence 0.93\x1b[0m\n' } },
		{ type: 'step-end', stepId: 'classify', ts: ago(r - 2100), data: { usage: { inputTokens: 1204, outputTokens: 61, costUsd: 0.0012 } } },
		{ type: 'step-start', stepId: 'research', ts: ago(r - 2300), data: { name: 'research', kind: 'agent' } },
		{ type: 'step-start', stepId: 'kb', parentStepId: 'research', ts: ago(r - 2500), data: { name: 'kb_search', kind: 'tool', input: { q: 'refund policy' } } },
		{ type: 'output', stepId: 'kb', ts: ago(r - 3500), data: { text: 'found \x1b[36m4\x1b[0m articles: refunds, invoices, plans, taxes\n' } },
		{ type: 'step-end', stepId: 'kb', ts: ago(r - 4200), data: { output: { articles: 4 } } },
		{ type: 'step-start', stepId: 'crm', parentStepId: 'research', ts: ago(r - 4400), data: { name: 'crm_lookup', kind: 'tool' } },
		{ type: 'log', stepId: 'crm', ts: ago(r - 5200), data: { level: 'info', message: 'customer on Team plan since 2023' } },
		{ type: 'step-end', stepId: 'crm', ts: ago(r - 7000), data: { output: { plan: 'team' } } },
		{ type: 'step-start', stepId: 'draft', parentStepId: 'research', ts: ago(r - 7300), data: { name: 'draft_reply', kind: 'llm' } },
		{ type: 'output', stepId: 'draft', ts: ago(r - 8200), data: { text: 'Drafting a reply about the duplicate charge on invoice \x1b[35m#2025-118\x1b[0m…\n' } }
	];
	await server.postEvents(running, events);
	return { failed, running, done };
}

async function shoot(page: Page, name: string, docs = false): Promise<void> {
	const path = join(SHOTS, `${name}.png`);
	await page.screenshot({ path, fullPage: true, animations: 'disabled' });
	if (docs && UPDATE_DOCS) copyFileSync(path, join(DOCS, `${name}.png`));
}

test('dashboard screenshots: list, running and failed execution; light, dark and phone', async ({ browser, freshServer: server }) => {
	test.setTimeout(240_000);
	mkdirSync(SHOTS, { recursive: true });
	if (UPDATE_DOCS) mkdirSync(DOCS, { recursive: true });
	const { failed, running, done } = await seed(server);

	for (const scheme of ['light', 'dark'] as const) {
		const context = await browser.newContext({ baseURL: server.url, colorScheme: scheme, viewport: { width: 1280, height: 860 } });
		const page = await context.newPage();
		await page.goto('/');
		await expect(page.getByTestId('execution-row')).toHaveCount(3);
		await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'open');
		await expect(page.getByTestId('totals-runs')).toHaveText('3');
		await shoot(page, `dashboard-list-${scheme}`, true);

		await page.goto(`/executions/${running}`);
		await expect(page.getByTestId('execution-status')).toHaveText('running');
		// 13 events, one row per step: the three ended steps' ends are in their rows.
		await expect(page.getByTestId('event-row')).toHaveCount(10);
		await expect(page.getByTestId('event-row').filter({ hasText: 'running' }).first()).toBeVisible();
		await page.locator('[data-testid="event-row"][data-seq="6"]').getByTestId('step-toggle').click();
		await expect(page.getByTestId('step-detail')).toContainText('refund policy');
		await expect(page.getByTestId('execution-input')).toContainText('ZD-4821');
		await shoot(page, `dashboard-running-${scheme}`, scheme === 'light');

		await page.goto(`/executions/${failed}`);
		await expect(page.getByTestId('execution-status')).toHaveText('failed');
		await expect(page.getByTestId('execution-error')).toContainText('at fetchLedger');
		await page.locator('[data-testid="event-row"][data-seq="5"]').getByTestId('step-toggle').click();
		await expect(page.getByTestId('step-detail')).toContainText('ledger API returned 503');
		await page.locator('[data-testid="event-row"][data-seq="9"]').click();
		await expect(page.getByTestId('event-detail')).toContainText('LedgerError');
		await shoot(page, `dashboard-failed-${scheme}`, true);
		await context.close();
	}

	const phone = await browser.newContext({ baseURL: server.url, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
	const page = await phone.newPage();
	await page.goto('/');
	await expect(page.getByTestId('execution-row')).toHaveCount(3);
	await expect(page.getByTestId('day-totals')).toBeVisible();
	expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
	await shoot(page, 'dashboard-list-phone', true);
	await page.goto(`/executions/${running}`);
	await expect(page.getByTestId('execution-status')).toHaveText('running');
	await page.locator('[data-testid="event-row"][data-seq="6"]').getByTestId('step-toggle').click();
	await expect(page.getByTestId('step-detail')).toContainText('refund policy');
	// Nothing may stick out sideways on a phone, an open step included.
	expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
	await shoot(page, 'dashboard-running-phone', true);
	await page.goto(`/executions/${done}`);
	await expect(page.getByTestId('execution-status')).toHaveText('completed');
	// A finished step is one row that opens to its arguments and its result.
	await expect(page.locator('[data-testid="event-row"][data-seq="4"]')).toHaveCount(0);
	await page.locator('[data-testid="event-row"][data-seq="3"]').getByTestId('step-toggle').click();
	await expect(page.getByTestId('step-detail').getByTestId('step-input')).toContainText('node');
	await expect(page.getByTestId('step-detail').getByTestId('step-output')).toContainText('matches');
	expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
	await shoot(page, 'dashboard-done-phone');
	await phone.close();
});
