// Issue 3, "How it is checked" 5: eight tabs of the execution page in one browser (one context),
// behind the SSE-only proxy of test 1. Browsers allow six HTTP/1.1 connections per host across
// all tabs, so eight tabs with a stream each would starve; the tabs share one stream (a Web Lock
// leader relaying over a BroadcastChannel). Every tab must show every live event, and nginx must
// have seen far fewer than eight streams.
import type { Page } from '@playwright/test';
import { connectionState, expectRowSeqs, rowSeqs } from '../support/fixtures.ts';
import { executionId, seqs } from '../support/runwatch.ts';
import { logs } from '../support/script.ts';
import { countSseStreams, expect, figure, recordTimeline, requireNginx, test, timeline } from './proxy.ts';

requireNginx();

const TABS = 8;

test('5. eight tabs behind an SSE-only nginx: one shared stream, every tab live with every event', async ({
	context,
	server,
	startProxy
}, testInfo) => {
	// Eight page loads: a few seconds here, much more on a busy CI machine.
	// Eight tabs opened one after another on a busy 2-core machine: generous.
	test.setTimeout(240_000);
	const proxy = await startProxy({ blockUpgrade: true, proxyBuffering: 'off' });
	const id = executionId('proxy-tabs');
	await server.createExecution({ id, agent: { name: 'e2e-tabs-agent' } });
	await server.postEvents(id, { type: 'agent-start', id: `${id}-start` });

	const streams = countSseStreams(context);
	const started = Date.now();
	const pages: Page[] = [];
	for (let i = 0; i < TABS; i++) {
		const page = await context.newPage();
		await recordTimeline(page);
		// As a person opens tabs: one after another without waiting for each one's `load` (which
		// waits for every image and the favicon); whether each tab goes live is checked below.
		await page.goto(`${proxy.url}/executions/${id}`, { waitUntil: 'commit' });
		pages.push(page);
	}
	for (const page of pages) {
		await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
		await expect(connectionState(page)).toHaveAttribute('data-transport', 'sse');
		await expectRowSeqs(page, seqs(1));
	}
	figure(testInfo, 'eight tabs opened and live (one after another) in', `${Date.now() - started} ms`);

	// Live events after all eight have loaded: every tab ends with exactly 1..N.
	const postedAt = Date.now();
	for (let i = 0; i < 4; i++) await server.postEvents(id, logs(5, 2 + 5 * i, `${id}-live`));
	const { lastSeq } = await server.postEvents(id, { type: 'agent-complete', id: `${id}-done` });
	expect(lastSeq).toBe(22);
	for (const page of pages) {
		await expectRowSeqs(page, seqs(lastSeq));
		await expect(page.getByTestId('execution-status')).toHaveText('completed');
	}
	let slowest = 0;
	for (const page of pages) {
		const t = await timeline(page);
		slowest = Math.max(slowest, t.rows[String(lastSeq)]! - postedAt);
	}
	const opened = streams.opened.length;
	figure(testInfo, 'tabs live', `${TABS} of ${TABS}, each with rows 1..${lastSeq}; last event in the slowest tab ${Math.round(slowest)} ms after the first POST`);
	figure(testInfo, 'GET /api/sse opened by the 8 tabs (Chromium network)', String(opened));
	expect(opened, 'the tabs share one stream').toBeLessThanOrEqual(2);

	// nginx's side: cut every connection (a reload) so that the streams are logged, and count.
	await proxy.cutStreams();
	const logged = proxy.sseStreams();
	figure(testInfo, 'GET /api/sse streams nginx served for 8 tabs', `${logged.length} (${logged.map((r) => `${r.requestTime.toFixed(1)} s`).join(', ')})`);
	expect(logged.length, 'far fewer than 8 long-lived /api/sse streams').toBeLessThanOrEqual(2);
	expect(logged.length).toBeGreaterThanOrEqual(1);

	// The shared stream was cut under all eight: they all resume, nothing lost, nothing twice.
	await server.postEvents(id, logs(3, 23, `${id}-after`));
	for (const page of pages) {
		await expectRowSeqs(page, seqs(25));
		await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
		expect(await rowSeqs(page)).toEqual(seqs(25));
	}
	figure(testInfo, 'GET /api/sse after the cut, all tabs', String(streams.opened.length));
	expect(streams.opened.length - opened, 'after the cut, one new shared stream').toBeLessThanOrEqual(2);
});
