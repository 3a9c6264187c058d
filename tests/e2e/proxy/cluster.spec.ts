// Issue 11: three production nodes on PostgreSQL + Redis behind a real nginx with round-robin
// upstreams and no stickiness (the config `npm run cluster` runs, scripts/lib/cluster-nginx.js).
// A browser on the dashboard stays live while the node its connection is on is SIGKILLed: the
// execution page ends with every seq exactly once, in order, and the list page keeps showing
// status changes. Events go in through nginx too, as an agent's would (retried when a POST is
// cut by the kill: idempotent by event id). Times are reported as figures, never asserted.
//
// Needs nginx, PostgreSQL and Redis on 127.0.0.1: skipped with a message without them, except
// under CI=true, where the tests run and fail.
import type { Page } from '@playwright/test';
import { Cluster, clusterMissing } from '../support/cluster.ts';
import { connectionState, expect, expectRowSeqs, rowSeqs, test } from '../support/fixtures.ts';
import { executionId, seqs } from '../support/runwatch.ts';
import { logs } from '../support/script.ts';
import { describeStates, figure, recordTimeline, timeline } from './proxy.ts';

const CI = process.env.CI === 'true' || process.env.CI === '1';
const NODES = 3;

const cluster = test.extend<{ cluster: Cluster }>({
	// Absolute URLs only: no single-node server of the worker's to start for a baseURL.
	baseURL: async ({}, use) => use(undefined),
	cluster: [
		async ({}, use, testInfo) => {
			const missing = await clusterMissing();
			if (missing && CI) throw new Error(`CI=true and ${missing}`);
			if (missing) console.warn(`tests/e2e/proxy/cluster.spec.ts: skipped: ${missing}`);
			testInfo.skip(!!missing, missing);
			const started = new Cluster();
			try {
				await started.start(NODES);
				await use(started);
			} finally {
				if (testInfo.status !== testInfo.expectedStatus) {
					await testInfo.attach('cluster.log', { body: started.logs(), contentType: 'text/plain' });
				}
				await started.dispose();
			}
		},
		// Three nodes and nginx starting on a busy 2-core machine: generous, apart from the test's own time.
		{ timeout: 120_000 }
	]
});
// Three processes, a kill and a reconnect through nginx: correctness with generous time.
cluster.describe.configure({ timeout: 240_000 });

/** Which of the cluster's nodes a page's one live stream is on, and the node's index. */
async function holder(c: Cluster): Promise<{ index: number; port: number }> {
	const node = await c.nodeHoldingTheViewer();
	return { index: c.nodes.indexOf(node), port: node.port };
}

async function open(page: Page, url: string): Promise<void> {
	await recordTimeline(page);
	await page.goto(url);
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
}

cluster('the execution page stays live, every seq once and in order, while the node it is connected to is SIGKILLed', async ({ page, cluster: c }, testInfo) => {
	const id = executionId('cluster-exec');
	await c.createExecution(id);
	await c.postEvents(id, [{ id: `${id}-start`, type: 'agent-start' }, ...logs(9, 2, `${id}-a`)]);
	await open(page, `${c.url}/executions/${id}`);
	await expectRowSeqs(page, seqs(10));
	const transport = await connectionState(page).getAttribute('data-transport');
	const before = await holder(c);
	figure(testInfo, 'the page is connected to', `node ${before.index + 1} of ${NODES} (${transport})`);

	// Events keep coming through nginx while the page's node dies.
	let sent = 10;
	const sending = (async () => {
		for (let batch = 0; batch < 20; batch++) {
			await c.postEvents(id, logs(5, sent + 1, `${id}-live${batch}`));
			sent += 5;
			await new Promise((r) => setTimeout(r, 100));
		}
	})();
	await expect.poll(async () => (await rowSeqs(page)).length, { timeout: 60_000 }).toBeGreaterThanOrEqual(30);
	const killedAt = Date.now();
	await c.nodes[before.index]!.stop('SIGKILL');
	await sending;
	const { lastSeq } = await c.postEvents(id, [{ id: `${id}-done`, type: 'agent-complete' }]);
	expect(lastSeq).toBe(111);
	await expectRowSeqs(page, seqs(lastSeq), 90_000);
	await expect(page.getByTestId('execution-status')).toHaveText('completed');
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
	const after = await holder(c);
	expect(after.index, 'reconnected to another node').not.toBe(before.index);

	const t = await timeline(page);
	const reopened = t.states.find((s) => s.at > killedAt && s.state === 'open');
	figure(testInfo, 'live states', describeStates(t));
	figure(testInfo, 'reconnected after the SIGKILL to', `node ${after.index + 1}, open again ${reopened ? Math.round(reopened.at - killedAt) : '?'} ms after the kill`);
	figure(testInfo, 'last row shown', `${Math.round(t.rows[String(lastSeq)]! - killedAt)} ms after the kill`);
	expect(await rowSeqs(page)).toEqual(seqs(lastSeq));
});

cluster('the list page stays live while the node it is connected to is SIGKILLed', async ({ page, cluster: c }, testInfo) => {
	const first = executionId('cluster-list-a');
	await c.createExecution(first, 'e2e-cluster-list');
	await c.postEvents(first, [{ id: `${first}-start`, type: 'agent-start' }]);
	await open(page, `${c.url}/`);
	const row = (id: string) => page.locator(`[data-testid="execution-row"][data-id="${id}"]`);
	await expect(row(first).getByTestId('execution-row-status')).toHaveText('running');
	const before = await holder(c);
	figure(testInfo, 'the list is connected to', `node ${before.index + 1} of ${NODES}`);

	const killedAt = Date.now();
	await c.nodes[before.index]!.stop('SIGKILL');
	// Changes made after the kill, through nginx (so on the surviving nodes): the list shows them.
	await c.postEvents(first, [{ id: `${first}-done`, type: 'agent-complete' }]);
	const second = executionId('cluster-list-b');
	await c.createExecution(second, 'e2e-cluster-list');
	await c.postEvents(second, [
		{ id: `${second}-start`, type: 'agent-start' },
		{ id: `${second}-err`, type: 'error', data: { message: 'tool timed out' } }
	]);
	await expect(row(first).getByTestId('execution-row-status')).toHaveText('completed', { timeout: 90_000 });
	await expect(row(second).getByTestId('execution-row-status')).toHaveText('failed', { timeout: 90_000 });
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
	const after = await holder(c);
	expect(after.index).not.toBe(before.index);
	const t = await timeline(page);
	const reopened = t.states.find((s) => s.at > killedAt && s.state === 'open');
	figure(testInfo, 'reconnected after the SIGKILL to', `node ${after.index + 1}, open again ${reopened ? Math.round(reopened.at - killedAt) : '?'} ms after the kill; both changes shown ${Date.now() - killedAt} ms after it`);
});
