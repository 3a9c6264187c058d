// Scenario "revocation" (issue 9): a share link is held by N WebSockets (share cookie, subscribed
// to its execution) and M SSE streams (the share token as a bearer); `DELETE
// /api/executions/:id/shares/:shareId` (ingest token) must close them all (4403 / SSE
// `forbidden`) within 2 s. Latency from sending the DELETE to each close: p50 / p99 / max. The
// peer, on the same connections in the same run just before: one event posted and timed to its
// arrival on every connection (how long the server takes to reach them all with anything). The
// server runs with a viewer token, so viewing is not open and every connection holds the share.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { fmt } from '../lib/table.js';
import { createExecution, withServer, withWorkers } from '../lib/harness.js';

const viewersScript = fileURLToPath(new URL('../load/viewers.js', import.meta.url));

/** { p50, p99, max } (ms, nearest rank) of a list of milliseconds. */
function spread(list) {
	const s = [...list].sort((a, b) => a - b);
	const at = (q) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
	return { p50: at(0.5), p99: at(0.99), max: s.at(-1), n: s.length };
}

const ROWS = [
	{ key: 'revokeWs', label: 'revoke → WebSocket closed (4403)' },
	{ key: 'revokeSse', label: 'revoke → SSE stream ended (after `forbidden`)' },
	{ key: 'revokeAll', label: 'revoke → every connection closed' },
	{ key: 'deliverAll', label: 'peer: POST event → held by every connection' }
];

export default {
	name: 'revocation',
	description: 'a share held by N WebSockets + N SSE streams: DELETE the share → each connection closed (4403 / forbidden), p50 / p99 / max',
	systems: ['runwatch'],
	notApplicable: { 'runwatch-sse': 'both transports are in the runwatch row', socketio: 'no access control', 'ws-broadcast': 'no access control', 'ws-broadcast-tick': 'no access control' },
	defaults: { connections: 200, timeoutMs: 60000 },
	quick: {},
	metrics: [...ROWS.flatMap((r) => [`${r.key}P50`, `${r.key}P99`, `${r.key}Max`]), 'answeredMs', 'closed', 'openMs'],

	async run(system, ctx) {
		const p = ctx.params;
		const env = { RUNWATCH_VIEWER_TOKEN: randomBytes(16).toString('hex') };
		return withServer(
			system,
			ctx,
			(server) =>
				withWorkers(
					1,
					ctx,
					async ([viewers]) => {
						const executionId = await createExecution(server, 'bench-revocation');
						const res = await fetch(`${server.baseUrl}/api/executions/${executionId}/shares`, {
							method: 'POST',
							headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
							body: '{}',
							signal: AbortSignal.timeout(10000)
						});
						const share = await res.json();
						if (res.status !== 201) throw new Error(`create share: ${res.status} ${JSON.stringify(share)}`);
						const token = decodeURIComponent(new URL(share.url).pathname.split('/').pop());
						const opened = await viewers.call(
							'open',
							{ baseUrl: server.baseUrl, wsUrl: server.wsUrl, executionId, shareId: share.id, token, ws: p.connections, sse: p.connections },
							p.timeoutMs
						);
						const common = { baseUrl: server.baseUrl, executionId, ingestToken: server.token, timeoutMs: p.timeoutMs };
						// Twice: the first warms the paths; the second is the peer figure.
						await viewers.call('deliver', common, p.timeoutMs + 10000);
						const delivered = await viewers.call('deliver', common, p.timeoutMs + 10000);
						if (!delivered.all) throw new Error('the event did not reach every connection');
						const revoked = await viewers.call('revoke', { ...common, shareId: share.id }, p.timeoutMs + 10000);
						if (!revoked.all) throw new Error(`${revoked.open} connection(s) still open ${p.timeoutMs} ms after the revoke`);
						if (revoked.wsWrongCode.length) throw new Error(`WebSockets closed with other codes than 4403: ${[...new Set(revoked.wsWrongCode)].join(', ')}`);
						if (revoked.sseWithoutForbidden) throw new Error(`${revoked.sseWithoutForbidden} SSE stream(s) ended without a forbidden message`);
						const out = { answeredMs: revoked.answeredMs, closed: revoked.ws.length + revoked.sse.length, openMs: opened.openMs };
						const put = (key, list) => {
							const s = spread(list);
							Object.assign(out, { [`${key}P50`]: s.p50, [`${key}P99`]: s.p99, [`${key}Max`]: s.max });
						};
						put('revokeWs', revoked.ws);
						put('revokeSse', revoked.sse);
						put('revokeAll', [...revoked.ws, ...revoked.sse]);
						put('deliverAll', [...delivered.ws, ...delivered.sse]);
						out.headline = `revoke → closed p50 ${fmt(out.revokeAllP50, 1)} p99 ${fmt(out.revokeAllP99, 1)} max ${fmt(out.revokeAllMax, 1)} ms  (event to all: max ${fmt(out.deliverAllMax, 1)} ms)`;
						return out;
					},
					viewersScript
				),
			[],
			env
		);
	},

	report(summary, params, runs) {
		const s = summary.find((x) => x.system === 'runwatch');
		const m = s?.median ?? {};
		const ok = `${s?.completedRuns ?? 0}/${runs}`;
		return {
			title: `revocation: one share link held by ${fmt(params.connections)} WebSockets + ${fmt(params.connections)} SSE streams; DELETE the share (median of ${runs} run(s))`,
			headers: ['from → to', 'p50 ms', 'p99 ms', 'max ms', '÷ peer (max)', 'ok runs'],
			rows: ROWS.map((r) => [r.label, fmt(m[`${r.key}P50`], 1), fmt(m[`${r.key}P99`], 1), fmt(m[`${r.key}Max`], 1), fmt(m[`${r.key}Max`] / m.deliverAllMax, 2) + '×', ok]),
			notes: [
				`the DELETE was answered (204) after ${fmt(m.answeredMs, 1)} ms (median); times are from sending it. Every WebSocket closed with 4403 and every SSE stream got \`event: error\` … \`forbidden\` before it ended (checked in every run).`
			]
		};
	},

	targets(summary) {
		const s = summary.find((x) => x.system === 'runwatch');
		if (!s?.median) return [];
		const m = s.median;
		return [
			{
				target: 'revocation: every connection closed (4403 / forbidden) within 2 s',
				measured: `max ${fmt(m.revokeAllMax, 1)} ms (p50 ${fmt(m.revokeAllP50, 1)}, p99 ${fmt(m.revokeAllP99, 1)})`,
				pass: m.revokeAllMax < 2000
			}
		];
	}
};
