#!/usr/bin/env node
// Runwatch benchmarks (issue 5): Runwatch over WebSocket and over SSE beside Socket.IO 4 and two
// floors of what Node itself costs (a plain `ws` broadcast loop, and the same loop batching per
// 10 ms tick), in one run, on this machine. Issues 8 and 9 add the ways in and out: the
// TypeScript client, OTLP ingest, the `runwatch run` start and share revocation, each beside a
// peer measured in the same run.
//
//   npm run bench                          every scenario, every system, 3 runs each (median)
//   npm run bench -- --quick               1 run each, shorter windows (about a minute)
//   npm run bench -- --scenario fanout,latency --systems runwatch,socketio --runs 5
//   npm run bench -- --scenario fanout200  the earlier issue's 200-subscriber fan-out
//   npm run bench -- --scenario retention  ingest p99 while retention deletes a million events
//   npm run bench -- --scenario ingest --systems runwatch,runwatch-pg
//                                           ingest into SQLite beside PostgreSQL (DATABASE_URL)
//   npm run bench -- --scenario cluster   3 nodes on PostgreSQL + Redis beside 1 node on SQLite
//                                           (ingest, cross-node delivery, Redis restart; issue 11)
//   npm run bench -- --profile             also write V8 CPU profiles (node --cpu-prof) of every
//                                           server to bench/results/profiles/ and print hot spots
//
// Each server runs as its own child process; the load (subscribers, publisher) as other child
// processes, pinned with taskset to other cores than the server when there are ≥ 2. Runs
// alternate between systems. Results: a table per scenario, a PASS/MISS list against the issue's
// targets, and bench/results/<timestamp>.json.
import { existsSync, mkdirSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { summariseProfile } from './lib/cpuprofile.js';
import { machineInfo, pinningPlan } from './lib/machine.js';
import { medianOf } from './lib/stats.js';
import { fmt, renderTable } from './lib/table.js';
import runwatch from './systems/runwatch.js';
import runwatchSse from './systems/runwatch-sse.js';
import runwatchPg from './systems/runwatch-pg.js';
import runwatchCluster from './systems/runwatch-cluster.js';
import socketio from './systems/socketio.js';
import wsBroadcast from './systems/ws-broadcast.js';
import wsBroadcastTick from './systems/ws-broadcast-tick.js';
import wsBroadcastBatched from './systems/ws-broadcast-batched.js';
import sseLoop from './systems/sse-loop.js';
import bareSqlite from './systems/bare-sqlite.js';
import fanout from './scenarios/fanout.js';
import latency from './scenarios/latency.js';
import memory from './scenarios/memory.js';
import catchup from './scenarios/catchup.js';
import ingest from './scenarios/ingest.js';
import fanout200 from './scenarios/fanout200.js';
import retention from './scenarios/retention.js';
import client from './scenarios/client.js';
import otlp from './scenarios/otlp.js';
import cliStart from './scenarios/cli-start.js';
import revocation from './scenarios/revocation.js';
import smallPosts from './scenarios/small-posts.js';
import many from './scenarios/many.js';
import cluster from './scenarios/cluster.js';

const SYSTEMS = [runwatch, runwatchSse, runwatchPg, runwatchCluster, socketio, wsBroadcast, wsBroadcastTick, wsBroadcastBatched, sseLoop, bareSqlite];
/** Scenarios in the default run, then those that run only when named. */
const SCENARIOS = [fanout, latency, memory, catchup, ingest, smallPosts, many, client, otlp, cliStart, revocation];
const EXTRA_SCENARIOS = [fanout200, retention, cluster];
const ALL_SCENARIOS = [...SCENARIOS, ...EXTRA_SCENARIOS];

const { values: args } = parseArgs({
	options: {
		quick: { type: 'boolean', default: false },
		scenario: { type: 'string' },
		systems: { type: 'string' },
		runs: { type: 'string' },
		subscribers: { type: 'string' },
		connections: { type: 'string' },
		events: { type: 'string' },
		duration: { type: 'string' },
		batch: { type: 'string' },
		'in-flight': { type: 'string' },
		payload: { type: 'string' },
		'load-procs': { type: 'string' },
		'sio-client': { type: 'string', default: 'raw' },
		timeout: { type: 'string' },
		'no-pin': { type: 'boolean', default: false },
		profile: { type: 'boolean', default: false },
		verbose: { type: 'boolean', default: false },
		help: { type: 'boolean', short: 'h', default: false }
	}
});

if (args.help) {
	console.log(`npm run bench -- [--quick] [--scenario ${ALL_SCENARIOS.map((s) => s.name).join(',')}] [--systems ${SYSTEMS.map((s) => s.name).join(',')}]
  [--runs N] [--subscribers N] [--connections N] [--events N] [--duration SECONDS] [--batch N] [--in-flight N]
  [--payload BYTES] [--load-procs N] [--sio-client raw|official] [--timeout SECONDS] [--no-pin] [--profile] [--verbose]

Scenarios: ${ALL_SCENARIOS.map((s) => `\n  ${s.name.padEnd(10)} ${s.description}`).join('')}
Systems: ${SYSTEMS.map((s) => `\n  ${s.name.padEnd(21)} ${s.description}`).join('')}`);
	process.exit(0);
}

function positiveNumber(name, raw, max, integer = true) {
	if (raw === undefined) return undefined;
	const n = Number(raw);
	if ((integer && !Number.isInteger(n)) || !(n > 0) || n > max) {
		console.error(`--${name} must be ${integer ? 'an integer' : 'a number'} in 1..${max}, got "${raw}"`);
		process.exit(2);
	}
	return n;
}

const runs = positiveNumber('runs', args.runs, 50) ?? (args.quick ? 1 : 3);
const wantedScenarios = args.scenario?.split(',').map((s) => s.trim());
const scenarios = wantedScenarios ? ALL_SCENARIOS.filter((s) => wantedScenarios.includes(s.name)) : SCENARIOS;
if (scenarios.length === 0 || (wantedScenarios && scenarios.length !== wantedScenarios.length)) {
	console.error(`Unknown scenario in "${args.scenario}". Known: ${ALL_SCENARIOS.map((s) => s.name).join(', ')}`);
	process.exit(2);
}
const wantedSystems = args.systems?.split(',').map((s) => s.trim());
if (wantedSystems && wantedSystems.some((n) => !SYSTEMS.find((s) => s.name === n))) {
	console.error(`Unknown system in "${args.systems}". Known: ${SYSTEMS.map((s) => s.name).join(', ')}`);
	process.exit(2);
}
if (!['raw', 'official'].includes(args['sio-client'])) {
	console.error('--sio-client is raw or official');
	process.exit(2);
}
const overrides = Object.fromEntries(
	Object.entries({
		subscribers: positiveNumber('subscribers', args.subscribers, 20000),
		connections: positiveNumber('connections', args.connections, 20000),
		events: positiveNumber('events', args.events, 10_000_000),
		durationMs: args.duration ? positiveNumber('duration', args.duration, 600, false) * 1000 : undefined,
		batch: positiveNumber('batch', args.batch, 1000),
		inFlight: positiveNumber('in-flight', args['in-flight'], 256),
		payloadBytes: positiveNumber('payload', args.payload, 200_000),
		loadProcs: positiveNumber('load-procs', args['load-procs'], 16),
		timeoutMs: args.timeout ? positiveNumber('timeout', args.timeout, 3600) * 1000 : undefined
	}).filter(([, v]) => v !== undefined)
);

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const resultsDir = join(benchDir, 'results');
const profileDir = join(resultsDir, 'profiles');
const machine = machineInfo();
const pin = pinningPlan({ disabled: args['no-pin'] });
const t0 = Date.now();
/** 1-minute load average: other work on the machine makes every figure worse (and noisier). */
const loadAvg = () => {
	try {
		return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
	} catch {
		return undefined;
	}
};
const loadAvgs = [];

console.log(`Machine: ${machine.cpuModel}, ${machine.cores} cores (${machine.allowedCpus} usable), ${machine.memGb} GB, Node ${machine.node}, ${machine.platform}`);
console.log(`Pinning: ${pin.note}`);
console.log(`Command: npm run bench --${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`);

const report = { startedAt: new Date().toISOString(), argv: process.argv.slice(2), machine, pinning: pin, runs, scenarios: [], targets: [] };
const stamp = report.startedAt.replace(/[:.]/g, '-');
let failed = false;
const printed = [];

function headline(result) {
	const parts = [];
	const add = (key, label, unit = '', d = 0) => {
		if (result[key] !== undefined) parts.push(`${label} ${fmt(result[key], d)}${unit}`);
	};
	add('deliveredPerSec', 'delivered', ' ev/s');
	add('p50Ms', 'p50', ' ms', 1);
	add('p99Ms', 'p99', ' ms', 1);
	add('maxMs', 'max', ' ms', 1);
	add('perConnKiB', 'per conn', ' KiB', 1);
	add('catchupMs', 'catch-up', ' ms');
	if (result.catchupMs === undefined) add('eventsPerSec', 'committed', ' ev/s');
	add('serverCpuPct', 'server cpu', ' %');
	add('loadCpuPct', 'load cpu', ' %');
	if (result.lost !== undefined) parts.push(`lost ${result.lost} dup ${result.duplicated} ooo ${result.outOfOrder}`);
	if (result.timedOut) parts.push('TIMED OUT');
	// A scenario whose figures fit none of the above says them itself.
	if (typeof result.headline === 'string') parts.push(result.headline);
	return parts.join('  ');
}

for (const scenario of scenarios) {
	loadAvgs.push(loadAvg());
	const params = { ...scenario.defaults, ...(args.quick ? scenario.quick : {}) };
	for (const [k, v] of Object.entries(overrides)) if (k in scenario.defaults) params[k] = v;
	const names = [...scenario.systems, ...(scenario.optionalSystems ?? []).filter((n) => wantedSystems?.includes(n))];
	const systems = SYSTEMS.filter((s) => names.includes(s.name) && (!wantedSystems || wantedSystems.includes(s.name)));
	const naSystems = SYSTEMS.filter((s) => scenario.notApplicable?.[s.name] && (!wantedSystems || wantedSystems.includes(s.name)));
	console.log(`\nScenario ${scenario.name}: ${scenario.description}`);
	console.log(`  ${JSON.stringify(params)}; ${runs} run(s) per system, alternating`);
	if (systems.length === 0) {
		console.log('  (no selected system applies)');
		continue;
	}
	const perSystem = new Map(systems.map((s) => [s.name, []]));
	const errors = new Map(systems.map((s) => [s.name, []]));
	for (let r = 1; r <= runs; r++) {
		for (const system of systems) {
			const profName = (who) => `${stamp}-${scenario.name}-${system.name}-${who}-run${r}.cpuprofile`;
			if (args.profile) mkdirSync(profileDir, { recursive: true });
			const ctx = {
				params,
				pin,
				echo: args.verbose,
				sioClient: args['sio-client'],
				serverNodeArgs: args.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', profName('server')] : [],
				loadNodeArgs: []
			};
			const t = Date.now();
			try {
				const result =
					scenario.name === 'fanout200'
						? await scenario.run(system, { ...ctx, loadNodeArgs: args.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', profName('load')] : [] })
						: await scenario.run(system, ctx);
				perSystem.get(system.name).push(result);
				console.log(`  run ${r}/${runs} ${system.name.padEnd(18)} ${headline(result)}  (${fmt((Date.now() - t) / 1000, 1)} s wall)`);
			} catch (error) {
				failed = true;
				errors.get(system.name).push(String(error?.message ?? error).slice(0, 4000));
				console.error(`  run ${r}/${runs} ${system.name}: FAILED: ${String(error?.message ?? error).slice(0, 4000)}`);
			}
		}
	}

	const worstOf = (list, key) => (list.some((x) => x[key] !== undefined) ? Math.max(...list.map((x) => x[key] ?? 0)) : undefined);
	const summary = [
		...systems.map((system) => {
			const list = perSystem.get(system.name);
			return {
				system: system.name,
				label: system.label,
				description: system.description,
				completedRuns: list.length,
				timedOutRuns: list.filter((x) => x.timedOut).length,
				median: list.length ? medianOf(list, scenario.metrics) : undefined,
				// correctness: the worst run, not the median
				worst: list.length
					? { lost: worstOf(list, 'lost'), duplicated: worstOf(list, 'duplicated'), outOfOrder: worstOf(list, 'outOfOrder'), unexpected: worstOf(list, 'unexpected') }
					: undefined,
				runs: list,
				errors: errors.get(system.name)
			};
		}),
		...naSystems.map((system) => ({ system: system.name, label: system.label, notApplicable: scenario.notApplicable[system.name], completedRuns: 0, timedOutRuns: 0 }))
	];

	const table = scenario.report(summary, params, runs);
	const text = [`${table.title}\n`, renderTable(table.headers, table.rows), ...(table.notes ?? []).map((n) => `Note: ${n}`)].join('\n');
	console.log(`\n${text}`);
	printed.push(text);
	for (const s of summary) {
		if (!s.system.startsWith('runwatch') || !s.worst) continue;
		const w = s.worst;
		if (w.lost || w.duplicated || w.outOfOrder || w.unexpected) {
			failed = true;
			console.error(`${s.label}: correctness violated in ${scenario.name}: lost/duplicated/out-of-order events must be zero.`);
		}
	}
	const targets = scenario.targets?.(summary) ?? [];
	report.targets.push(...targets.map((t) => ({ scenario: scenario.name, ...t })));
	report.scenarios.push({ scenario: scenario.name, params, table, systems: summary });
}

if (report.targets.length) {
	const text = `Targets (issues 5, 8, 9 and 11; ${machine.cores}-core machine)\n\n${renderTable(
		['target', 'measured', 'result'],
		report.targets.map((t) => [t.target, t.measured, t.pass ? 'PASS' : 'MISS']),
		['l', 'r', 'l']
	)}`;
	console.log(`\n${text}`);
	printed.push(text);
}
loadAvgs.push(loadAvg());
report.loadAverages = loadAvgs;
const busy = loadAvgs.filter((x) => x > 0.5).length;
console.log(`\nMachine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memGb} GB, Node ${machine.node}; ${pin.note}; ${fmt((Date.now() - t0) / 1000)} s`);
console.log(`1-minute load average before each scenario and at the end: ${loadAvgs.map((x) => fmt(x, 2)).join(', ')}${busy ? ' (the benchmark itself adds about 1-2; more means other work shared the cores)' : ''}`);

report.finishedAt = new Date().toISOString();
report.printed = printed.join('\n\n');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `${stamp}.json`);
writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
console.log(`Results: ${file}`);
if (args.profile) {
	// The last run's server profile per scenario and system: where the CPU time went.
	const profiles = existsSync(profileDir) ? readdirSync(profileDir).filter((f) => f.startsWith(stamp) && f.endsWith('.cpuprofile')) : [];
	const last = new Map();
	for (const f of profiles.sort()) last.set(f.replace(/-run\d+\.cpuprofile$/, ''), f);
	for (const f of last.values()) {
		try {
			const s = summariseProfile(join(profileDir, f), 12);
			console.log(`\nCPU profile ${f}: busy ${fmt(s.busyMs)} ms of ${fmt(s.totalMs)} ms (self time, % of busy)`);
			for (const x of s.functions) console.log(`  ${fmt(x.pct, 1).padStart(5)}%  ${fmt(x.ms).padStart(6)} ms  ${x.name}`);
			console.log('  by file:');
			for (const x of s.files.slice(0, 8)) console.log(`  ${fmt(x.pct, 1).padStart(5)}%  ${fmt(x.ms).padStart(6)} ms  ${x.name}`);
		} catch (error) {
			console.log(`(could not read ${f}: ${error.message})`);
		}
	}
	console.log(`\nCPU profiles (${profiles.length}) in ${profileDir} (open in Chrome DevTools → Performance, or speedscope)`);
}
process.exit(failed ? 1 : 0);
