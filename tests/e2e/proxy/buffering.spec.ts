// Issue 3, "How it is checked" 2: nginx with its default `proxy_buffering on` (nothing in the
// config about buffering; the server's `X-Accel-Buffering: no` header is what turns it off for
// the stream), WebSocket blocked so that SSE is used. 200 events posted one by one must reach the
// page in real time: latency from each POST to its row appearing, p50/p99/max.
import { connectionState, expectRowSeqs, rowSeqs } from '../support/fixtures.ts';
import { executionId, seqs } from '../support/runwatch.ts';
import { expect, figure, percentile, recordTimeline, requireNginx, test, timeline } from './proxy.ts';

requireNginx();

const EVENTS = 200;
const INTERVAL_MS = 20;
/** Generous for a loaded CI machine; a buffering proxy would hold events for seconds, or to the end. */
const P99_BOUND_MS = 500;

test('2. nginx with default proxy_buffering: 200 SSE events reach the page in real time', async ({
	page,
	server,
	startProxy
}, testInfo) => {
	test.setTimeout(60_000);
	const proxy = await startProxy({ blockUpgrade: true, proxyBuffering: 'default' });
	expect(proxy.config()).not.toMatch(/^\s*proxy_buffering\s/m);
	const id = executionId('proxy-buffering');
	await server.createExecution({ id, agent: { name: 'e2e-latency-agent' } });

	await recordTimeline(page);
	await page.goto(`${proxy.url}/executions/${id}`);
	const indicator = connectionState(page);
	await expect(indicator).toHaveAttribute('data-state', 'open');
	await expect(indicator).toHaveAttribute('data-transport', 'sse');

	// One by one, each POST awaited (it answers once committed), ~20 ms apart.
	const postedAt: number[] = [];
	for (let i = 1; i <= EVENTS; i++) {
		const started = Date.now();
		postedAt[i] = started;
		const { lastSeq } = await server.postEvents(id, {
			id: `${id}-${i}`,
			type: 'log',
			data: { level: 'info', message: `tick ${i}` }
		});
		expect(lastSeq).toBe(i);
		const wait = started + INTERVAL_MS - Date.now();
		if (wait > 0) await new Promise((r) => setTimeout(r, wait));
	}

	await expectRowSeqs(page, seqs(EVENTS));
	expect(await rowSeqs(page)).toEqual(seqs(EVENTS));
	await expect(indicator).toHaveAttribute('data-transport', 'sse');

	const t = await timeline(page);
	const latencies: number[] = [];
	const seen: number[] = [];
	for (let i = 1; i <= EVENTS; i++) {
		const at = t.rows[String(i)];
		expect(at, `row ${i} was seen appearing`).toBeDefined();
		seen.push(at!);
		latencies.push(at! - postedAt[i]!);
	}
	// Arrived in order: no row appeared before the one with the previous seq.
	for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
	// Only one stream, never re-opened: nothing was cut or buffered to the end.
	expect(t.states.filter((s) => s.state === 'open' && s.transport === 'sse')).toHaveLength(1);

	const p50 = percentile(latencies, 50);
	const p99 = percentile(latencies, 99);
	const max = Math.max(...latencies);
	const sent = postedAt[EVENTS]! - postedAt[1]!;
	figure(
		testInfo,
		'POST to row latency over 200 events (nginx default proxy_buffering, SSE)',
		`p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms, min ${Math.min(...latencies).toFixed(1)} ms (sent over ${sent} ms)`
	);
	expect(p99).toBeLessThan(P99_BOUND_MS);
});
