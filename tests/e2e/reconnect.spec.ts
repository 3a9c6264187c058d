// (b) Cutting every WebSocket by restarting the server: the page says it is not live, then
// resumes from the last seq it has, with nothing missing and nothing twice.
import type { Page } from '@playwright/test';
import { connectionState, expect, expectRowSeqs, test } from './support/fixtures.ts';
import { executionId, seqs } from './support/runwatch.ts';
import { logs, researchRun } from './support/script.ts';

/** The client backs off between attempts; a few quick retries plus one capped wait fit in here. */
const RESUME_TIMEOUT_MS = 30_000;

test('a server restart shows the banner, then the page resumes with every seq exactly once', async ({
	page,
	freshServer: server
}) => {
	const id = executionId('restart');
	await server.createExecution({ id, agent: { name: 'e2e-restart-agent' } });
	await server.postEvents(id, researchRun({ complete: false }).slice(0, 3));

	await page.goto(`${server.url}/executions/${id}`);
	await expectRowSeqs(page, seqs(3));
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
	await expect(page.getByTestId('connection-banner')).toHaveCount(0);

	// A batch in flight while SIGTERM arrives is either committed before the server stops or
	// refused; retried with the same event ids after the restart, it is stored exactly once.
	const duringShutdown = logs(4, 4, `${id}-inflight`);
	const inFlight = server.postEvents(id, duringShutdown).catch(() => undefined);
	await server.stop('SIGTERM');
	await inFlight;

	const banner = page.getByTestId('connection-banner');
	await expect(banner).toBeVisible();
	await expect(banner.getByRole('button', { name: 'Reconnect' })).toBeVisible();
	await expect(connectionState(page)).toHaveAttribute('data-state', /^(reconnecting|offline|connecting)$/);
	await expect(page.getByTestId('execution-status')).toHaveText('running');

	// Back on the same port and data dir; more events arrive before and while the page reconnects.
	await server.start();
	const retried = await server.postEvents(id, duringShutdown);
	expect(retried.lastSeq).toBe(7);
	await server.postEvents(id, logs(3, 8));
	await server.postEvents(id, { type: 'agent-complete', data: { output: 'done after the restart' } });

	await expect(banner).toHaveCount(0, { timeout: RESUME_TIMEOUT_MS });
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
	await expectRowSeqs(page, seqs(11));
	await expect(page.getByTestId('execution-status')).toHaveText('completed');

	// Still live on the new connection.
	await server.postEvents(id, { type: 'log', data: { level: 'info', message: 'a note after completion' } });
	await expectRowSeqs(page, seqs(12));
});

test('the Reconnect button connects at once instead of waiting out the backoff', async ({
	page,
	freshServer: server
}) => {
	const id = executionId('button');
	await server.createExecution({ id, agent: { name: 'e2e-reconnect-agent' } });
	await server.postEvents(id, researchRun({ complete: false }).slice(0, 2));

	await page.goto(`${server.url}/executions/${id}`);
	await expectRowSeqs(page, seqs(2));
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');

	await server.stop('SIGTERM');
	const banner = page.getByTestId('connection-banner');
	await expect(banner).toBeVisible();
	// Let attempts fail until the banner's countdown says the next one is at least 4 s away:
	// a connection within 2 s of the click can then only come from the button. The first
	// attempts after a drop wait under a second each (about 15 s of them), so this takes a while.
	test.setTimeout(120_000);
	await expect(banner).toContainText(/in ([4-9]|1\d) s\b/, { timeout: 80_000 });
	await server.start();
	await server.postEvents(id, logs(2, 3));

	await banner.getByRole('button', { name: 'Reconnect' }).click();
	await expect(banner).toHaveCount(0, { timeout: 2_000 });
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
	await expectRowSeqs(page, seqs(4));
});

/** Writes down, from before the page's scripts run, every change of the live indicator (epoch ms). */
async function recordIndicator(page: Page): Promise<void> {
	await page.addInitScript(() => {
		const changes: { at: number; state: string; transport: string }[] = [];
		(window as unknown as { __indicator: typeof changes }).__indicator = changes;
		let last = '';
		new MutationObserver(() => {
			const el = document.querySelector('[data-testid="connection-state"]');
			if (!el) return;
			const state = el.getAttribute('data-state') ?? '';
			const transport = el.getAttribute('data-transport') ?? '';
			if (`${state}/${transport}` === last) return;
			last = `${state}/${transport}`;
			changes.push({ at: performance.timeOrigin + performance.now(), state, transport });
		}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state', 'data-transport'] });
	});
}

function indicatorChanges(page: Page): Promise<{ at: number; state: string; transport: string }[]> {
	return page.evaluate(() => (window as unknown as { __indicator: { at: number; state: string; transport: string }[] }).__indicator);
}

// Issue 10, bug 2: a server that is down for both transports is not a proxy blocking WebSocket.
for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
	test(`after ${signal} and a restart the page is back on WebSocket, with every seq exactly once`, async ({
		page,
		freshServer: server
	}, testInfo) => {
		const id = executionId(`restart-${signal.toLowerCase()}`);
		await server.createExecution({ id, agent: { name: 'e2e-restart-ws-agent' } });
		await server.postEvents(id, researchRun({ complete: false }).slice(0, 3));

		await recordIndicator(page);
		await page.goto(`${server.url}/executions/${id}`);
		await expectRowSeqs(page, seqs(3));
		const indicator = connectionState(page);
		await expect(indicator).toHaveText('Live (WebSocket)');

		await server.stop(signal);
		await expect(page.getByTestId('connection-banner')).toBeVisible();
		// Down long enough for several attempts to fail (before the fix, three failed attempts in a
		// row moved the page to SSE for good).
		await page.waitForTimeout(4_000);
		const startedAt = Date.now();
		await server.start(); // resolves once the server answers HTTP (polled every 100 ms)
		const answeringAt = Date.now();
		await server.postEvents(id, logs(3, 4));

		await expect(indicator).toHaveText('Live (WebSocket)', { timeout: 30_000 });
		await expect(page.getByTestId('connection-banner')).toHaveCount(0);
		await expectRowSeqs(page, seqs(6));
		await server.postEvents(id, { type: 'agent-complete' });
		await expectRowSeqs(page, seqs(7));
		await expect(page.getByTestId('execution-status')).toHaveText('completed');

		const changes = await indicatorChanges(page);
		expect(changes.filter((c) => c.state === 'open').map((c) => c.transport)).toEqual(['websocket', 'websocket']);
		expect(await page.evaluate(() => sessionStorage.getItem('runwatch.transport'))).toBeNull();
		const back = changes.findLast((c) => c.state === 'open')!.at;
		const line =
			`${signal}: back on WebSocket ${Math.round(back - startedAt)} ms after the new process was spawned, ` +
			`${Math.round(back - answeringAt)} ms after the test saw it answer HTTP (negative: the page was first)`;
		testInfo.annotations.push({ type: 'time to come back', description: line });
		console.log(`[restart] ${line}; indicator: ${changes.map((c) => `${c.state}/${c.transport}`).join(' → ')}`);
	});
}
