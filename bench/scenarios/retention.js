// Scenario "retention" (issue 9): p99 ingest latency while retention deletes a large ended
// execution, beside the same ingest into the same database with no deletion.
//
// 1. A server of its own ingests `events` events into one execution (batches of 1,000) whose end
//    is stamped 60 days ago, then stops. Its data directory is copied.
// 2. "no deletion": a server on the copy, without RUNWATCH_RETENTION_DAYS.
//    "retention": a server on the original, with RUNWATCH_RETENTION_DAYS=30; its first run starts
//    a few seconds after startup and deletes the execution in chunks, then gives the space back.
// 3. On both, the same steady ingest into another execution: a batch of `batch` events every
//    1/`rate` s, each POST timed from send to answer (acknowledged after commit). The scenario
//    watches the old execution (a small read every 100 ms on both servers): deletion has started
//    once its newest events are gone, and ended when it answers 404; then it watches the free
//    pages of the database (a read-only connection) until retention has given them back.
//    Latencies of POSTs sent in each window count; the "no deletion" server is measured over the
//    same windows, relative to its start. The database file's size after each server stops
//    (checkpointed) is reported too.
import Database from 'better-sqlite3';
import { cpSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt } from '../lib/table.js';
import { atExit, processCpu } from '../lib/proc.js';
import { sleep, withWorkers } from '../lib/harness.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const OLD_ID = 'bench-retention-old';
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

async function api(server, method, path, body) {
	const res = await fetch(`${server.baseUrl}${path}`, {
		method,
		headers: { authorization: `Bearer ${server.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
		body: body ? JSON.stringify(body) : undefined,
		signal: AbortSignal.timeout(30000)
	});
	const text = await res.text();
	return { status: res.status, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

function percentile(sorted, q) {
	if (sorted.length === 0) return NaN;
	return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function latencyOf(samples, fromUs, toUs) {
	const ms = samples.filter(([sent]) => sent >= fromUs && sent <= toUs).map(([, us]) => us / 1000).sort((a, b) => a - b);
	return { posts: ms.length, p50Ms: percentile(ms, 0.5), p99Ms: percentile(ms, 0.99), maxMs: ms.at(-1) ?? NaN };
}

const dbSizeMiB = (dir) => statSync(join(dir, 'runwatch.sqlite')).size / (1024 * 1024);

export default {
	name: 'retention',
	description: 'p99 of steady small-batch ingest while retention deletes E events, beside the same ingest with no deletion',
	systems: ['runwatch'],
	notApplicable: { 'runwatch-sse': 'same server', socketio: 'no storage', 'ws-broadcast': 'no storage', 'ws-broadcast-tick': 'no storage' },
	defaults: { events: 1_000_000, batch: 10, rate: 100, inFlight: 16, payloadBytes: 100, timeoutMs: 600_000 },
	quick: { events: 200_000 },
	metrics: [
		'basePosts', 'baseP50Ms', 'baseP99Ms', 'baseMaxMs', 'baseReclaimP99Ms', 'baseReclaimMaxMs', 'baseCpuPct', 'baseDbMiB',
		'delPosts', 'delP50Ms', 'delP99Ms', 'delMaxMs', 'delReclaimP99Ms', 'delReclaimMaxMs', 'delCpuPct', 'delDbMiB',
		'deleteMs', 'reclaimMs', 'deletedPerSec', 'seededDbMiB', 'late', 'resets'
	],

	async run(system, ctx) {
		const p = ctx.params;
		const seedDir = mkdtempSync(join(tmpdir(), 'runwatch-bench-retention-'));
		const copyDir = `${seedDir}-copy`;
		const forget = atExit(() => {
			rmSync(seedDir, { recursive: true, force: true });
			rmSync(copyDir, { recursive: true, force: true });
		});
		try {
			return await withWorkers(1, ctx, async ([load]) => {
				// 1. Seed: one execution of `events` events that ended 60 days ago.
				const seeder = await system.start({ cpu: ctx.pin.server, echo: ctx.echo, dataDir: seedDir });
				try {
					await api(seeder, 'POST', '/api/executions', { id: OLD_ID, agent: { name: 'bench-retention' } });
					const ing = await load.call(
						'ingest',
						{ baseUrl: seeder.baseUrl, token: seeder.token, executionId: OLD_ID, total: p.events, batch: 1000, inFlight: 4, payloadBytes: p.payloadBytes, timeoutMs: p.timeoutMs },
						p.timeoutMs + 10000
					);
					if (ing.lastSeq !== p.events) throw new Error(`seeded ${ing.lastSeq} of ${p.events} events`);
					const end = await api(seeder, 'POST', `/api/executions/${OLD_ID}/events`, { type: 'agent-complete', ts: new Date(Date.now() - 60 * DAY_MS).toISOString() });
					if (end.status !== 200) throw new Error(`end: ${end.status}`);
				} finally {
					await seeder.stop();
				}
				const seededDbMiB = dbSizeMiB(seedDir);
				cpSync(seedDir, copyDir, { recursive: true });

				/** One server: steady ingest from its start; `until(startUs)` says when to stop. */
				const measure = async (dataDir, env, until) => {
					const server = await system.start({ cpu: ctx.pin.server, echo: ctx.echo, dataDir, env });
					let result;
					try {
						const live = await api(server, 'POST', '/api/executions', { agent: { name: 'bench-retention-live' } });
						const startUs = nowUs();
						const cpu0 = processCpu(server.pid);
						const steady = load.call(
							'steady',
							{ baseUrl: server.baseUrl, token: server.token, executionId: live.body.id, rate: p.rate, batch: p.batch, inFlight: p.inFlight, payloadBytes: p.payloadBytes, maxDurationMs: p.timeoutMs },
							p.timeoutMs + 30000
						);
						const window = await until(server, startUs);
						await load.call('stopSteady', {}, 10000);
						const { samples, late, resets, errors } = await steady;
						const cpu1 = processCpu(server.pid);
						if (errors.length) throw new Error(`steady ingest failed: ${errors.join('; ')}`);
						const wallSec = (nowUs() - startUs) / 1e6;
						result = { samples, late, resets, window, startUs, cpuPct: cpu0 && cpu1 ? ((cpu1.total - cpu0.total) / wallSec) * 100 : undefined };
					} finally {
						await server.stop();
					}
					return { ...result, dbMiB: dbSizeMiB(dataDir) };
				};

				/**
				 * Polls the old execution every 100 ms, then the database's free pages: first seen half
				 * deleted, first 404, free pages given back (as µs).
				 */
				const watchDeletion = async (server) => {
					let fromUs;
					let deletedUs;
					const deadline = Date.now() + p.timeoutMs;
					for (;;) {
						const tail = await api(server, 'GET', `/api/executions/${OLD_ID}/events?since=${p.events - 1}&limit=1`);
						const t = nowUs();
						if (tail.status === 404) {
							deletedUs = t;
							break;
						}
						if (fromUs === undefined && tail.body.events.length === 0) fromUs = t;
						if (Date.now() > deadline) throw new Error('retention did not finish in time');
						await sleep(100);
					}
					const db = new Database(join(seedDir, 'runwatch.sqlite'), { readonly: true, fileMustExist: true });
					try {
						// A few free pages come and go with ingest; hundreds mean retention is still at it.
						while (db.pragma('freelist_count', { simple: true }) > 100) {
							if (Date.now() > deadline) throw new Error('retention did not give the space back in time');
							await sleep(100);
						}
					} finally {
						db.close();
					}
					return { fromUs: fromUs ?? deletedUs, deletedUs, reclaimedUs: nowUs() };
				};

				// 2. With retention first: its window sets the one the baseline is measured over.
				const del = await measure(seedDir, { RUNWATCH_RETENTION_DAYS: '30' }, watchDeletion);
				const w = del.window;
				const base = await measure(copyDir, {}, async (server, startUs) => {
					// The same polling as above, for as long.
					while (nowUs() - startUs < w.reclaimedUs - del.startUs) {
						await api(server, 'GET', `/api/executions/${OLD_ID}/events?since=${p.events - 1}&limit=1`);
						await sleep(100);
					}
				});
				const shift = base.startUs - del.startUs;
				const d = latencyOf(del.samples, w.fromUs, w.deletedUs);
				const b = latencyOf(base.samples, w.fromUs + shift, w.deletedUs + shift);
				const dr = latencyOf(del.samples, w.deletedUs, w.reclaimedUs);
				const br = latencyOf(base.samples, w.deletedUs + shift, w.reclaimedUs + shift);
				const deleteMs = (w.deletedUs - w.fromUs) / 1000;
				return {
					basePosts: b.posts, baseP50Ms: b.p50Ms, baseP99Ms: b.p99Ms, baseMaxMs: b.maxMs, baseReclaimP99Ms: br.p99Ms, baseReclaimMaxMs: br.maxMs, baseCpuPct: base.cpuPct, baseDbMiB: base.dbMiB,
					delPosts: d.posts, delP50Ms: d.p50Ms, delP99Ms: d.p99Ms, delMaxMs: d.maxMs, delReclaimP99Ms: dr.p99Ms, delReclaimMaxMs: dr.maxMs, delCpuPct: del.cpuPct, delDbMiB: del.dbMiB,
					deleteMs, reclaimMs: (w.reclaimedUs - w.deletedUs) / 1000, deletedPerSec: (p.events + 1) / (deleteMs / 1000), seededDbMiB, late: del.late + base.late, resets: del.resets + base.resets
				};
			});
		} finally {
			rmSync(seedDir, { recursive: true, force: true });
			rmSync(copyDir, { recursive: true, force: true });
			forget();
		}
	},

	report(summary, params, runs) {
		const rows = [];
		for (const s of summary) {
			if (s.notApplicable || !s.median) continue;
			const m = s.median;
			rows.push(['no deletion', fmt(m.basePosts), fmt(m.baseP50Ms, 1), fmt(m.baseP99Ms, 1), fmt(m.baseMaxMs, 1), fmt(m.baseReclaimP99Ms, 1), fmt(m.baseReclaimMaxMs, 1), '-', '-', '-', fmt(m.baseCpuPct), `${fmt(m.seededDbMiB)} → ${fmt(m.baseDbMiB)}`, `${s.completedRuns}/${runs}`]);
			rows.push([`retention deleting ${fmt(params.events)} events`, fmt(m.delPosts), fmt(m.delP50Ms, 1), fmt(m.delP99Ms, 1), fmt(m.delMaxMs, 1), fmt(m.delReclaimP99Ms, 1), fmt(m.delReclaimMaxMs, 1), fmt(m.deleteMs), fmt(m.deletedPerSec), fmt(m.reclaimMs), fmt(m.delCpuPct), `${fmt(m.seededDbMiB)} → ${fmt(m.delDbMiB)}`, `${s.completedRuns}/${runs}`]);
		}
		return {
			title: `retention: POST of ${params.batch} events every ${fmt(1000 / params.rate, 1)} ms (acknowledged after commit) while retention deletes one ended execution of ${fmt(params.events)} events, beside the same ingest with no deletion (median of ${runs} run(s))`,
			headers: ['Runwatch', 'POSTs (deleting)', 'p50 ms (deleting)', 'p99 ms (deleting)', 'max ms (deleting)', 'p99 ms (reclaiming)', 'max ms (reclaiming)', 'deletion ms', 'deleted events/s', 'reclaim ms', 'server CPU %', 'database MiB (before → after)', 'ok runs'],
			rows,
			notes: [
				'Deleting: from the first sight of the old execution half deleted to its first 404 (polled every 100 ms). Reclaiming: from then until the database has at most 100 free pages (incremental vacuum done). The no-deletion server is measured over the same windows after its own start.',
				'Database size: the SQLite file once the server has stopped (WAL checkpointed): the space retention gave back by incremental vacuum.',
				...summary.filter((x) => x.median?.resets).map((x) => `${fmt(x.median.resets)} POST(s) met a kept-alive socket the server had just closed (ECONNRESET) and were sent again, timed from the first try.`)
			]
		};
	}
};
