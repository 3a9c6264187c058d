// Markup in stored data is inert: agent names, departments, metadata, log messages, errors and
// their stacks, step names, output (with ANSI codes) and the detail JSON all show as text, on the
// list and on the execution page, server-rendered and live. `</script>` in stored data does not
// break the server-rendered page's hydration: the page still goes live.
import type { Page } from '@playwright/test';
import { connectionState, expect, test } from './support/fixtures.ts';
import { executionId, type EventInput, type RunwatchServer } from './support/runwatch.ts';

declare global {
	interface Window {
		__pwned?: unknown;
	}
}

const IMG = '<img src=x onerror=window.__pwned=1>';
const SCRIPT = '<script>window.__pwned=1</script>';
const JS_URL = 'javascript:window.__pwned=1';
const MUSTACHE = "{{constructor.constructor('window.__pwned=1')()}}";
const TEMPLATE = '${window.__pwned=1}';
const BREAKOUT = '</script><script>window.__pwned=1</script>';
const ALL = [IMG, SCRIPT, JS_URL, MUSTACHE, TEMPLATE, BREAKOUT];
/** Every payload in one string (for the fields without a short length limit). */
const EVERYTHING = ALL.join(' ');

/** Console errors and uncaught exceptions of a page, collected from the start. */
function watchConsole(page: Page): string[] {
	const problems: string[] = [];
	page.on('console', (message) => {
		if (message.type() === 'error') problems.push(`console: ${message.text()}`);
	});
	page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
	return problems;
}

/** Nothing ran and nothing was injected: no flag, no live `<img src=x>`, no injected script or handler, no javascript: link. */
async function expectInert(page: Page): Promise<void> {
	expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
	const injected = await page.evaluate(() => ({
		images: document.querySelectorAll('img[src="x"]').length,
		handlers: document.querySelectorAll('[onerror], [onload], [onclick]').length,
		scripts: [...document.scripts].filter((s) => s.textContent?.trim() === 'window.__pwned=1').length,
		links: [...document.querySelectorAll('a[href], [src], [action], [formaction]')].filter((el) =>
			/^\s*javascript:/i.test(el.getAttribute('href') ?? el.getAttribute('src') ?? el.getAttribute('action') ?? el.getAttribute('formaction') ?? '')
		).length
	}));
	expect(injected).toEqual({ images: 0, handlers: 0, scripts: 0, links: 0 });
}

const agentName = `${IMG}${BREAKOUT}`; // ≤ 200 characters, as names must be
const department = `${SCRIPT} ${TEMPLATE} ${MUSTACHE}`;
const metadata = { [IMG]: BREAKOUT, link: JS_URL, [MUSTACHE]: TEMPLATE };

/** Events before the page loads (server-rendered) and after (pushed live). Markup everywhere. */
function hostileEvents(tag: string): EventInput[] {
	return [
		{ type: 'agent-start', data: { input: { prompt: EVERYTHING, [BREAKOUT]: SCRIPT } } },
		{ type: 'output', data: { text: `\u001b[31m${IMG}\u001b[0m ${tag}\n\u001b[1;4m${BREAKOUT}\u001b[0m\n${JS_URL} ${MUSTACHE} ${TEMPLATE}\n` } },
		{ type: 'log', data: { level: 'info', message: `${tag} ${EVERYTHING}` } },
		{ type: 'log', data: { level: 'error', message: `${tag} ${BREAKOUT}` } },
		{ type: 'step-start', stepId: `s-${tag}`, data: { name: `${tag} ${IMG}`, kind: 'tool', input: { html: EVERYTHING, href: JS_URL } } },
		{ type: 'step-end', stepId: `s-${tag}`, data: { error: { message: `${tag} ${SCRIPT}`, stack: `Error: ${IMG}\n    at ${BREAKOUT}` } } },
		{ type: `x-hostile-${tag}`, data: { html: EVERYTHING, [SCRIPT]: [IMG, { [BREAKOUT]: JS_URL }] } }
	];
}

/** An execution with markup in every field that has one, and events from `hostileEvents('ssr')`. */
async function seed(server: RunwatchServer): Promise<{ id: string; before: EventInput[] }> {
	const id = executionId('hostile');
	await server.createExecution({ id, agent: { name: agentName, homepage: JS_URL }, department: { name: department }, metadata });
	const before = hostileEvents('ssr');
	await server.postEvents(id, before);
	return { id, before };
}

// Each test opens several pages and selects every event; generous on a loaded machine, where a
// fresh page can take well over the default 10 s to hydrate and connect.
test.describe.configure({ timeout: 120_000 });
const LIVE_TIMEOUT = 30_000;

test('the list shows markup in names, departments and a reflected search as text, server-rendered and live', async ({ page, server }) => {
	const problems = watchConsole(page);
	const { id } = await seed(server);

	await page.goto('/');
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open', { timeout: LIVE_TIMEOUT });
	const row = page.locator(`[data-testid="execution-row"][data-id="${id}"]`);
	await expect(row.locator('td.agent a')).toHaveText(agentName);
	await expect(row.locator('td.dept')).toHaveText(department);
	// A new execution arrives live.
	const liveId = executionId('hostile-live');
	await server.createExecution({ id: liveId, agent: { name: `${SCRIPT}${MUSTACHE}` }, department: { name: BREAKOUT } });
	const liveRow = page.locator(`[data-testid="execution-row"][data-id="${liveId}"]`);
	await expect(liveRow.locator('td.agent a')).toHaveText(`${SCRIPT}${MUSTACHE}`);
	await expect(liveRow.locator('td.dept')).toHaveText(BREAKOUT);
	await expectInert(page);

	// A search for markup, reflected into the server-rendered search box: it finds the metadata
	// value, shows the query as text, and the page still hydrates.
	await page.goto(`/?q=${encodeURIComponent(BREAKOUT)}`);
	await expect(page.getByLabel('Search')).toHaveValue(BREAKOUT);
	// Ours by its metadata value, the live one by its department; nothing else matches.
	await expect(page.getByTestId('execution-row')).toHaveCount(2);
	await expect(row).toBeVisible();
	await expect(liveRow).toBeVisible();
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open', { timeout: LIVE_TIMEOUT });
	await expectInert(page);

	// Into the execution page by its link: rendered in the browser from the page data.
	await row.locator('td.agent a').click();
	await expect(page).toHaveURL(new RegExp(`/executions/${id}$`));
	await checkExecutionPage(page, id, hostileEvents('ssr'));

	expect(problems).toEqual([]);
});

test('`</script>` and markup in stored data: the server-rendered page shows it as text, hydrates and goes live', async ({ page, server }) => {
	const problems = watchConsole(page);
	const { id, before } = await seed(server);

	// The HTML as sent: every payload escaped, none as markup (the page data is serialised with `<` escaped).
	const html = await (await fetch(`${server.url}/executions/${id}`)).text();
	for (const raw of [IMG, SCRIPT, BREAKOUT]) expect(html).not.toContain(raw);
	expect(html).toContain('&lt;img src=x onerror=window.__pwned=1>');

	await page.goto(`/executions/${id}`);
	await checkExecutionPage(page, id, before);
	await expect(connectionState(page)).toContainText('Live');

	// Live: more markup pushed after load arrives and is shown as text too.
	const after = hostileEvents('live');
	await server.postEvents(id, after);
	const all = [...before, ...after];
	// One row per step: each step-end is in its step's row.
	await expect(page.getByTestId('event-row')).toHaveCount(all.length - 2);
	await expect(page.getByTestId('output')).toContainText(`${IMG} live`);
	await expect(page.getByTestId('timeline')).toContainText(`live ${IMG}`);
	await showDetails(page, before.length + 1, all.length);
	await expectInert(page);

	expect(problems).toEqual([]);
});

test('a run that failed with markup in its error and stack shows both as text in the header', async ({ page, server }) => {
	const problems = watchConsole(page);
	const failed = executionId('hostile-failed');
	await server.createExecution({ id: failed, agent: { name: SCRIPT } });
	await server.postEvents(failed, [{ type: 'agent-start' }, { type: 'error', data: { message: `${BREAKOUT} ${IMG}`, stack: `Error: ${SCRIPT}\n    at ${JS_URL} (${TEMPLATE})` } }]);
	await page.goto(`/executions/${failed}`);
	await expect(page.getByTestId('execution-status')).toHaveText('failed');
	await expect(page.getByRole('heading', { level: 1 })).toHaveText(SCRIPT);
	await expect(page.getByTestId('execution-error')).toContainText(`Failed: ${BREAKOUT} ${IMG}`);
	await expect(page.getByTestId('execution-error').locator('pre')).toHaveText(`Error: ${SCRIPT}\n    at ${JS_URL} (${TEMPLATE})`);
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open', { timeout: LIVE_TIMEOUT });
	await showDetails(page, 1, 2);
	await expect(page.getByTestId('event-detail').locator('pre.stack')).toHaveText(`Error: ${SCRIPT}\n    at ${JS_URL} (${TEMPLATE})`);
	await expectInert(page);

	expect(problems).toEqual([]);
});

/** The execution page shows every field as the literal text that was stored, and is live. */
async function checkExecutionPage(page: Page, id: string, events: EventInput[]): Promise<void> {
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open', { timeout: LIVE_TIMEOUT });
	await expect(page.getByRole('heading', { level: 1 })).toContainText(agentName);
	await expect(page.getByText(department, { exact: true }).first()).toBeVisible();
	await expect(page.getByTestId('event-row')).toHaveCount(events.length - 1);
	const output = page.getByTestId('output');
	await expect(output).toContainText(`${IMG} ssr`);
	await expect(output).toContainText(BREAKOUT);
	await expect(output).toContainText(`${JS_URL} ${MUSTACHE} ${TEMPLATE}`);
	// ANSI codes styled the text, they are not shown.
	await expect(output).not.toContainText('\u001b');
	await expect(output).not.toContainText('[31m');
	const timeline = page.getByTestId('timeline');
	await expect(timeline).toContainText(`ssr ${IMG}`);
	await showDetails(page, 1, events.length);
	await expectInert(page);
	expect(await page.evaluate(() => location.pathname)).toBe(`/executions/${id}`);
}

/**
 * Selects each row in turn; its detail shows the stored JSON, markup as text. A step's row shows
 * its start and its end (which has no row of its own).
 */
async function showDetails(page: Page, from: number, to: number): Promise<void> {
	const detail = page.getByTestId('event-detail');
	type Shown = { seq: number; type: string; data?: unknown };
	for (let seq = from; seq <= to; seq++) {
		const row = page.locator(`[data-testid="event-row"][data-seq="${seq}"]`);
		if ((await row.count()) === 0) continue; // a step-end, shown with its step-start
		await row.click();
		await expect(detail).toContainText(`Event #${seq}`);
		const json = detail.locator('pre.json');
		const text = await json.textContent();
		const parsed = JSON.parse(text ?? '') as Shown | [Shown, Shown];
		const [shown, end] = Array.isArray(parsed) ? parsed : [parsed, undefined];
		expect(shown.seq).toBe(seq);
		if (end) expect(end.type).toBe('step-end');
		if (end?.type === 'step-end') {
			await expect(detail).toContainText(SCRIPT);
			await expect(detail.locator('pre.stack')).toContainText(BREAKOUT);
		}
		if (shown.type.startsWith('x-hostile')) expect(shown.data).toMatchObject({ html: EVERYTHING, [SCRIPT]: [IMG, { [BREAKOUT]: JS_URL }] });
		await expectInert(page);
	}
}
