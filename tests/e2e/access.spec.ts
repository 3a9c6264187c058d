// Sign-in, sign-out and share links in a real browser: a stranger is sent to /login, signs in and
// lands where they were going; signing out closes a live page's connection and it says why; a
// share link opens one execution read-only in a fresh browser, and revoking or expiry stops it live.
import { test as base, expect, type Page } from '@playwright/test';
import { RunwatchServer, executionId } from './support/runwatch.ts';

const VIEWER_TOKEN = 'e2e-viewer-token-0123456789abcdef';

const test = base.extend<object, { server: RunwatchServer }>({
	server: [
		async ({}, use) => {
			const server = new RunwatchServer({ env: { RUNWATCH_VIEWER_TOKEN: VIEWER_TOKEN } });
			await server.start();
			await use(server);
			await server.dispose();
		},
		{ scope: 'worker', timeout: 60_000 }
	]
});

test.describe.configure({ timeout: 120_000 });

async function signIn(page: Page, server: RunwatchServer, path: string): Promise<void> {
	await page.goto(server.url + path);
	await expect(page).toHaveURL(/\/login\?next=/);
	await page.getByLabel('Viewer token').fill(VIEWER_TOKEN);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await expect(page).toHaveURL(server.url + path);
}

test('a stranger signs in with the viewer token and lands where they were going; a wrong token is refused', async ({ page, server }) => {
	const id = executionId('signin');
	await server.createExecution({ id, agent: { name: 'e2e-signin-agent' } });
	await page.goto(`${server.url}/executions/${id}`);
	await expect(page).toHaveURL(`${server.url}/login?next=${encodeURIComponent(`/executions/${id}`)}`);
	await page.getByLabel('Viewer token').fill('wrong-token');
	await page.getByRole('button', { name: 'Sign in' }).click();
	await expect(page.getByTestId('login-error')).toHaveText('That is not the viewer token.');

	await page.getByLabel('Viewer token').fill(VIEWER_TOKEN);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await expect(page).toHaveURL(`${server.url}/executions/${id}`);
	await expect(page.getByText('e2e-signin-agent').first()).toBeVisible();
	await expect(page.getByTestId('connection-state')).toHaveAttribute('data-state', 'open', { timeout: 30_000 });
	// Links work: the session cookie comes along (it used to be a 401 on every click).
	await page.getByRole('link', { name: 'Executions' }).first().click();
	await expect(page).toHaveURL(`${server.url}/`);
	await expect(page.getByText('e2e-signin-agent').first()).toBeVisible();
	// The cookie is HttpOnly: the page's scripts cannot read it.
	expect(await page.evaluate(() => document.cookie)).not.toContain('runwatch_session');
});

test('signing out in one tab closes the live page in another, which says why and offers to sign in again', async ({ context, server }) => {
	const id = executionId('signout');
	await server.createExecution({ id, agent: { name: 'e2e-signout-agent' } });
	const watching = await context.newPage();
	await signIn(watching, server, `/executions/${id}`);
	await expect(watching.getByTestId('connection-state')).toHaveAttribute('data-state', 'open', { timeout: 30_000 });
	await server.postEvents(id, { type: 'agent-start' });
	await expect(watching.getByTestId('event-row')).toHaveCount(1);

	const other = await context.newPage();
	await other.goto(`${server.url}/`);
	await other.getByTestId('sign-out').click();
	await expect(other).toHaveURL(/\/login/);

	const banner = watching.getByTestId('connection-banner');
	await expect(banner).toContainText('No longer allowed', { timeout: 15_000 });
	await expect(banner.getByRole('link', { name: 'Sign in again' })).toHaveAttribute('href', `/login?next=${encodeURIComponent(`/executions/${id}`)}`);
	// It stopped retrying: events posted now do not arrive, and it stays forbidden.
	await server.postEvents(id, { type: 'output', data: { text: 'after sign-out\n' } });
	await watching.waitForTimeout(2_000);
	await expect(watching.getByTestId('event-row')).toHaveCount(1);
	await expect(watching.getByTestId('connection-state')).toHaveAttribute('data-state', 'forbidden');
});

test('a share link opens one execution, live and read-only, in a fresh browser; revoking it stops the page at once', async ({ browser, page, server }) => {
	const id = executionId('share');
	const other = executionId('share-other');
	await server.createExecution({ id, agent: { name: 'e2e-shared-agent' } });
	await server.createExecution({ id: other, agent: { name: 'e2e-private-agent' } });
	await server.postEvents(id, { type: 'agent-start' });

	// The owner makes the link from the page.
	await signIn(page, server, `/executions/${id}`);
	await page.getByTestId('share-open').click();
	await page.getByTestId('share-expiry').selectOption({ label: 'Until revoked' });
	await page.getByTestId('share-create').click();
	const url = await page.getByTestId('share-url').inputValue();
	expect(url).toMatch(new RegExp(`^${server.url}/s/rws_`));

	// Someone else, with nothing but the link.
	const guest = await browser.newContext();
	try {
		const shared = await guest.newPage();
		await shared.goto(url);
		await expect(shared).toHaveURL(`${server.url}/executions/${id}`); // the token left the address bar
		await expect(shared.getByTestId('shared-view')).toBeVisible();
		await expect(shared.getByTestId('cancel-open')).toHaveCount(0);
		await expect(shared.getByTestId('share-open')).toHaveCount(0);
		await expect(shared.locator('a[href="/"]')).toHaveCount(0);
		await expect(shared.getByTestId('connection-state')).toHaveAttribute('data-state', 'open', { timeout: 30_000 });
		await server.postEvents(id, { type: 'output', data: { text: 'live for the guest\n' } });
		await expect(shared.getByTestId('output')).toContainText('live for the guest');

		// Nothing else is open to it.
		const list = await shared.goto(`${server.url}/`);
		expect(list?.status()).toBe(403);
		const elsewhere = await shared.goto(`${server.url}/executions/${other}`);
		expect(elsewhere?.status()).toBe(403);
		await shared.goto(`${server.url}/executions/${id}`);
		await expect(shared.getByTestId('connection-state')).toHaveAttribute('data-state', 'open', { timeout: 30_000 });

		// The owner revokes it while the guest watches.
		await page.getByTestId('share-revoke').click();
		await expect(page.getByTestId('share-row').first()).toHaveAttribute('data-active', 'false');
		await expect(shared.getByTestId('connection-banner')).toContainText('No longer allowed', { timeout: 15_000 });
		await expect(shared.getByTestId('connection-banner')).toContainText('revoked');
		const again = await guest.newPage();
		const response = await again.goto(url);
		expect(response?.status()).toBe(404);
	} finally {
		await guest.close();
	}
});

test('an expiring share link stops a live page when it expires', async ({ browser, server }) => {
	const id = executionId('share-expiry');
	await server.createExecution({ id, agent: { name: 'e2e-expiring' } });
	const { url } = await server.createShare(id, { expiresInSeconds: 8 });
	const guest = await browser.newContext();
	try {
		const shared = await guest.newPage();
		await shared.goto(url);
		await expect(shared.getByTestId('shared-view')).toBeVisible();
		await expect(shared.getByTestId('connection-banner')).toContainText('expired', { timeout: 30_000 });
		await expect(shared.getByTestId('connection-state')).toHaveAttribute('data-state', 'forbidden');
	} finally {
		await guest.close();
	}
});
