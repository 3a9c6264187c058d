// Issue 3, "How it is checked" 3: nginx with `proxy_read_timeout 10s`, SSE forced with
// `?transport=sse`. A quiet stream stays open past 30 s because the server sends a heartbeat
// comment every 5 s; and a stream cut anyway (an nginx reload that closes old connections, then
// nginx down for a while) resumes with nothing lost and nothing twice.
import { connectionState, expectRowSeqs, rowSeqs } from '../support/fixtures.ts';
import { executionId, seqs } from '../support/runwatch.ts';
import { logs } from '../support/script.ts';
import {
	countSseStreams,
	describeStates,
	expect,
	figure,
	firstState,
	recordTimeline,
	requireNginx,
	test,
	timeline
} from './proxy.ts';

requireNginx();

const QUIET_MS = 31_000;

test('3. proxy_read_timeout 10s: a quiet SSE stream outlives 30 s on heartbeats; a cut stream resumes with nothing lost', async ({
	page,
	server,
	startProxy
}, testInfo) => {
	test.setTimeout(90_000);
	const proxy = await startProxy({ proxyReadTimeout: '10s', workerShutdownTimeout: '1s' });
	expect(proxy.config()).toMatch(/proxy_read_timeout 10s;/);
	const id = executionId('proxy-idle');
	await server.createExecution({ id, agent: { name: 'e2e-idle-agent' } });
	await server.postEvents(id, logs(2, 1, `${id}-a`));

	const streams = countSseStreams(page);
	await recordTimeline(page);
	await page.goto(`${proxy.url}/executions/${id}?transport=sse`);
	const indicator = connectionState(page);
	await expect(indicator).toHaveAttribute('data-state', 'open');
	await expect(indicator).toHaveAttribute('data-transport', 'sse');
	await expectRowSeqs(page, seqs(2));
	const openedAt = firstState(await timeline(page), 'open', 'sse')!;

	// Quiet: nothing posted for more than three proxy read timeouts.
	await page.waitForTimeout(Math.max(0, openedAt + QUIET_MS - Date.now()));
	let t = await timeline(page);
	expect(t.states.at(-1)).toMatchObject({ state: 'open', transport: 'sse' });
	expect(t.states.filter((s) => s.at > openedAt), `no state change while quiet: ${describeStates(t)}`).toEqual([]);
	expect(streams.opened, 'one GET /api/sse, never re-opened').toHaveLength(1);
	expect(proxy.sseStreams(), 'nginx has not ended any /api/sse stream').toEqual([]);

	// Still live after the quiet spell.
	let postedAt = Date.now();
	await server.postEvents(id, logs(3, 3, `${id}-b`));
	await expectRowSeqs(page, seqs(5));
	t = await timeline(page);
	figure(testInfo, 'quiet stream open for', `${Math.round((Date.now() - openedAt) / 1000)} s behind proxy_read_timeout 10s, 1 GET /api/sse`);
	figure(testInfo, 'first event after the quiet spell, POST to row', `${Math.round(t.rows['3']! - postedAt)} ms`);

	// Cut 1: a reload; the old worker closes its connections after worker_shutdown_timeout (1 s).
	// Events posted on both sides of the cut.
	const cut = proxy.cutStreams();
	await server.postEvents(id, logs(3, 6, `${id}-c`)); // 6..8, while the old stream is being cut
	await cut;
	const firstStream = proxy.sseStreams();
	expect(firstStream, 'the cut stream is in the access log').toHaveLength(1);
	expect(firstStream[0]!.status).toBe(200);
	// It lived well past three proxy read timeouts: the heartbeats kept it open.
	expect(firstStream[0]!.requestTime).toBeGreaterThan(30);
	figure(testInfo, 'first /api/sse stream, as nginx logged it when the reload cut it', `${firstStream[0]!.requestTime.toFixed(1)} s, status 200`);
	await server.postEvents(id, logs(3, 9, `${id}-d`)); // 9..11, around the reconnect
	await expectRowSeqs(page, seqs(11));
	await expect(indicator).toHaveAttribute('data-state', 'open');
	expect(streams.opened.length).toBeGreaterThanOrEqual(2);

	// Cut 2: nginx down for 2 s (events 12..15 posted meanwhile, straight to Runwatch), then back.
	const beforeDown = streams.opened.length;
	await proxy.stop();
	await expect(indicator).not.toHaveAttribute('data-state', 'open');
	await server.postEvents(id, logs(4, 12, `${id}-e`));
	await page.waitForTimeout(2_000);
	expect(await rowSeqs(page)).toEqual(seqs(11)); // nothing can arrive while the proxy is down
	const restartedAt = Date.now();
	await proxy.start();
	await expectRowSeqs(page, seqs(15), 30_000);
	await expect(indicator).toHaveAttribute('data-state', 'open');
	await expect(indicator).toHaveAttribute('data-transport', 'sse');
	t = await timeline(page);
	figure(testInfo, 'after nginx came back, caught up in', `${Math.round(t.rows['15']! - restartedAt)} ms`);

	// And live again, each seq exactly once.
	postedAt = Date.now();
	await server.postEvents(id, logs(2, 16, `${id}-f`));
	await expectRowSeqs(page, seqs(17));
	expect(await page.getByTestId('event-row').count()).toBe(17);
	expect(streams.opened.length).toBeGreaterThan(beforeDown);
	figure(testInfo, 'indicator', describeStates(await timeline(page)));
	figure(testInfo, 'GET /api/sse over the test', `${streams.opened.length} (1 before the first cut)`);
});
