// The Content-Security-Policy in a real Chromium: every page renders, hydrates and goes live
// with nothing blocked (no `securitypolicyviolation`, no console error), over WebSocket and SSE,
// and the security headers are on the pages.
import type { Page, Response } from '@playwright/test';
import { connectionState, expect, expectRowSeqs, test } from './support/fixtures.ts';
import { executionId, RunwatchServer, seqs } from './support/runwatch.ts';

interface Watch {
	/** CSP violations (from the page's own event) and console errors so far. */
	problems(): Promise<string[]>;
}

/** Records CSP violations from the first byte of every document, and console errors. */
async function watch(page: Page, { allow = [] as RegExp[] } = {}): Promise<Watch> {
	const console: string[] = [];
	await page.addInitScript(() => {
		const seen: string[] = [];
		(window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
		document.addEventListener('securitypolicyviolation', (e) => {
			seen.push(`CSP ${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
		});
	});
	page.on('console', (message) => {
		if (message.type() === 'error' && !allow.some((pattern) => pattern.test(message.text()))) console.push(message.text());
	});
	page.on('pageerror', (error) => console.push(`page error: ${error.message}`));
	return {
		async problems() {
			const violations = await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations ?? []);
			return [...violations, ...console];
		}
	};
}

function expectSecurityHeaders(response: Response | null, frameAncestors = "'none'"): void {
	expect(response).not.toBeNull();
	const headers = response!.headers();
	const csp = headers['content-security-policy'] ?? '';
	expect(csp).toMatch(/script-src 'self' 'nonce-[^']+'/);
	expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
	expect(csp).toContain(`frame-ancestors ${frameAncestors}`);
	expect(headers['x-content-type-options']).toBe('nosniff');
	expect(headers['referrer-policy']).toBe('same-origin');
}

const RED = '\u001b[31m';
const BOLD_GREEN = '\u001b[1;32m';
const BG_BLUE = '\u001b[44m';
const RESET = '\u001b[0m';

for (const transport of ['websocket', 'sse'] as const) {
	test(`execution page (${transport}): ANSI output, steps with waterfall bars, the detail JSON, live updates; no CSP violation`, async ({ page, server }) => {
		const id = executionId(`csp-${transport}`);
		await server.createExecution({ id, agent: { name: 'e2e-csp-agent' }, department: { name: 'Security' } });
		await server.postEvents(id, [
			{ type: 'agent-start', data: { input: { question: 'colours?' } } },
			{ type: 'step-start', stepId: 'plan', data: { name: 'plan', kind: 'llm' } },
			{ type: 'output', stepId: 'plan', data: { text: `${RED}red${RESET} ${BOLD_GREEN}bold green${RESET} ${BG_BLUE}on blue${RESET}\n` } },
			{ type: 'step-end', stepId: 'plan', data: { usage: { inputTokens: 10, outputTokens: 5 } } },
			{ type: 'log', data: { level: 'warn', message: 'careful' } }
		]);
		const seen = await watch(page);

		const response = await page.goto(`/executions/${id}?transport=${transport}`);
		expectSecurityHeaders(response);
		await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
		await expect(connectionState(page)).toHaveAttribute('data-transport', transport);
		await expectRowSeqs(page, seqs(5));
		// ANSI colours are style attributes (style-src-attr), and they apply.
		const red = page.getByTestId('output').getByText('red', { exact: true });
		await expect(red).toHaveCSS('color', /rgb\(\s*\d+,\s*\d+,\s*\d+\s*\)/);
		expect(await red.evaluate((el) => getComputedStyle(el).color)).not.toBe(
			await page.getByTestId('output').evaluate((el) => getComputedStyle(el).color)
		);
		// The detail panel of a selected row.
		await page.getByTestId('event-row').first().click();

		// Live: more events, a new step, the end.
		await server.postEvents(id, [
			{ type: 'step-start', stepId: 'act', data: { name: 'act', kind: 'tool' } },
			{ type: 'output', stepId: 'act', data: { text: `${BOLD_GREEN}done${RESET}\n` } },
			{ type: 'step-end', stepId: 'act' },
			{ type: 'agent-complete' }
		]);
		await expectRowSeqs(page, seqs(9));
		await expect(page.getByTestId('execution-status')).toHaveText('completed');
		await expect(page.getByTestId('output')).toContainText('done');

		expect(await seen.problems()).toEqual([]);
	});
}

test('the list goes live; no CSP violation', async ({ page, server }) => {
	const seen = await watch(page);
	const response = await page.goto('/');
	expectSecurityHeaders(response);
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
	const id = executionId('csp-list');
	await server.createExecution({ id, agent: { name: 'e2e-csp-list' } });
	await expect(page.locator(`[data-testid="execution-row"][data-id="${id}"]`)).toBeVisible();
	await server.postEvents(id, { type: 'agent-start' });
	await expect(page.locator(`[data-testid="execution-row"][data-id="${id}"]`)).toContainText('running');
	expect(await seen.problems()).toEqual([]);
});

test('the empty list, and its Run demo agent form leading to a live page; no CSP violation', async ({ page, freshServer }) => {
	const seen = await watch(page);
	const response = await page.goto(freshServer.url + '/');
	expectSecurityHeaders(response);
	const empty = page.getByTestId('empty-state');
	await expect(empty).toBeVisible();
	// A form post (form-action 'self') that redirects to the demo's page, which fills in live.
	await empty.getByRole('button', { name: 'Run demo agent' }).click();
	await page.waitForURL(/\/executions\/[A-Za-z0-9_-]+$/);
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
	await expect(page.getByTestId('execution-status')).toHaveText(/^(completed|failed)$/, { timeout: 30_000 });
	expect(await seen.problems()).toEqual([]);
});

test('the error page (an id that cannot exist), a 404 page and the waiting page render under the policy; no CSP violation', async ({ page }) => {
	// The document's own 404 is reported in the console by Chromium; that is not a problem.
	const seen = await watch(page, { allow: [/Failed to load resource: the server responded with a status of 404/] });
	for (const path of ['/executions/not%20an%20id', '/no/such/page']) {
		const response = await page.goto(path);
		expect(response?.status(), path).toBe(404);
		expectSecurityHeaders(response);
		await expect(page.getByTestId('error-page'), path).toBeVisible();
	}
	// An id nobody has created yet: the page waits for it (agents print their URL first).
	const waiting = await page.goto('/executions/not-yet-created');
	expect(waiting?.status()).toBe(200);
	expectSecurityHeaders(waiting);
	expect(await seen.problems()).toEqual([]);
});

test('with a viewer token: the sign-in page, signing in, and a share link opened in a fresh context; no CSP violation', async ({ browser }) => {
	const viewerToken = 'e2e-viewer-token-0123456789abcdef';
	const server = new RunwatchServer({ env: { RUNWATCH_VIEWER_TOKEN: viewerToken } });
	await server.start();
	try {
		const id = executionId('csp-shared');
		await server.createExecution({ id, agent: { name: 'e2e-csp-shared' } });
		await server.postEvents(id, [{ type: 'agent-start' }, { type: 'output', data: { text: `${RED}shared${RESET}\n` } }]);

		const context = await browser.newContext();
		const page = await context.newPage();
		const seen = await watch(page);
		const response = await page.goto(`${server.url}/`);
		await page.waitForURL(/\/login/);
		expectSecurityHeaders(response);
		await page.getByLabel('Viewer token').fill(viewerToken);
		await page.getByRole('button', { name: 'Sign in' }).click();
		await page.waitForURL(`${server.url}/`);
		await expect(page.locator(`[data-testid="execution-row"][data-id="${id}"]`)).toBeVisible();
		await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
		expect(await seen.problems()).toEqual([]);
		await context.close();

		// A share link, opened by someone without the viewer token.
		const share = await fetch(`${server.url}/api/executions/${id}/shares`, {
			method: 'POST',
			headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
			body: '{}'
		});
		expect(share.status).toBe(201);
		const { url } = (await share.json()) as { url: string };
		const outsider = await browser.newContext();
		const sharedPage = await outsider.newPage();
		const seenShared = await watch(sharedPage);
		await sharedPage.goto(url);
		await sharedPage.waitForURL(new RegExp(`/executions/${id}$`));
		await expect(connectionState(sharedPage)).toHaveAttribute('data-state', 'open');
		await server.postEvents(id, { type: 'agent-complete' });
		await expect(sharedPage.getByTestId('execution-status')).toHaveText('completed');
		expect(await seenShared.problems()).toEqual([]);
		await outsider.close();
	} finally {
		await server.dispose();
	}
});

test('the watcher sees a violation when there is one (inline script is blocked)', async ({ page }) => {
	const seen = await watch(page, { allow: [/Content Security Policy/] });
	await page.goto('/');
	await page.evaluate(() => {
		const script = document.createElement('script');
		script.textContent = 'window.__ran = true';
		document.body.append(script);
	});
	await expect.poll(async () => (await seen.problems()).join('\n')).toMatch(/CSP script-src-elem blocked inline/);
	expect(await page.evaluate(() => (window as unknown as { __ran?: boolean }).__ran)).toBeUndefined();
});

test('the empty page copies its commands with a click and says "Copied"; no CSP violation', async ({ page, freshServer }) => {
	await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: freshServer.url });
	const seen = await watch(page);
	await page.goto(freshServer.url + '/');
	const empty = page.getByTestId('empty-state');
	await expect(empty).toBeVisible();
	const buttons = empty.getByTestId('copy-button');
	await expect(buttons).toHaveCount(2);
	for (const [index, command] of [['0', 'create-command'], ['1', 'event-command']] as const) {
		const button = buttons.nth(Number(index));
		await expect(button).toHaveText('Copy');
		await button.click();
		await expect(button).toHaveText('Copied');
		const expected = await empty.getByTestId(command).textContent();
		expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(expected);
		expect(expected).toContain(freshServer.token);
		// The confirmation goes away by itself.
		await expect(button).toHaveText('Copy');
	}
	// Each command shows whole, wrapped inside its box at desktop and phone widths (the event
	// command's JSON used to run past the edge, its end hidden).
	for (const width of [1280, 390]) {
		await page.setViewportSize({ width, height: 844 });
		for (const command of ['create-command', 'event-command']) {
			const box = empty.getByTestId(command);
			expect(await box.evaluate((el) => el.scrollWidth - el.clientWidth), `${command} at ${width} px`).toBeLessThanOrEqual(0);
		}
	}
	expect(await seen.problems()).toEqual([]);
});
