// The way back, end to end: `runwatch run` wraps a command that sleeps; a viewer presses Cancel on
// its page in Chromium; the command gets SIGTERM, `runwatch` records `cancelled` and exits 130.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connectionState, expect, test } from './support/fixtures.ts';
import { executionId, PROJECT_ROOT } from './support/runwatch.ts';

const CLI = join(PROJECT_ROOT, 'packages/client/dist/cli.cjs');

test('Cancel on the page stops a command run by `runwatch run`', async ({ page, server }) => {
	test.setTimeout(120_000);
	test.skip(!existsSync(CLI), 'packages/client is not built (npm run build:client); npm test builds it');
	const id = executionId('cancel-cmd');
	// The command sleeps until killed, and says when it got SIGTERM.
	const script = "process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(143); }); console.log('sleeping'); setInterval(() => {}, 1000);";
	const child = spawn(process.execPath, [CLI, 'run', '--name', 'sleeper', '--id', id, '--grace', '5', '--', process.execPath, '-e', script], {
		env: { ...process.env, RUNWATCH_URL: server.url, RUNWATCH_TOKEN: server.token },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let stdout = '';
	child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
	const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
	try {
		await expect.poll(() => stdout, { timeout: 20_000 }).toContain('sleeping');
		await page.goto(`/executions/${id}`);
		await expect(connectionState(page)).toHaveAttribute('data-state', 'open', { timeout: 30_000 });
		await expect(page.getByTestId('execution-status')).toHaveText('running');
		await expect(page.getByTestId('output')).toContainText('sleeping');

		await page.getByTestId('cancel-open').click();
		await page.getByRole('dialog', { name: 'Cancel this run?' }).getByLabel(/Reason/).fill('taking too long');
		await page.getByTestId('cancel-confirm').click();

		await expect(page.getByTestId('execution-status')).toHaveText('cancelled', { timeout: 30_000 });
		expect(await exited).toBe(130);
		expect(stdout).toContain('got SIGTERM');
		await expect(page.getByTestId('event-row').filter({ hasText: 'cancel-requested' })).toHaveCount(1);
		await expect(page.getByTestId('event-row').filter({ hasText: /^.*cancelled/ }).last()).toBeVisible();
	} finally {
		child.kill('SIGKILL');
	}
});
