#!/usr/bin/env node
// Runwatch benchmarks.
//
//   npm run bench                          all scenarios, all systems, 3 runs each (median)
//   npm run bench -- --quick               1 run each
//   npm run bench -- --scenario fanout --systems runwatch,ws-broadcast --runs 5
//   npm run bench -- --systems runwatch,ws-broadcast,ws-broadcast-batched   (adds an optional system)
//   npm run bench -- --subscribers 50 --events 2000 --batch 100 --in-flight 4
//   npm run bench -- --profile             also write V8 CPU profiles (node --cpu-prof) of every server
//                                           and load process to bench/results/profiles/, and print
//                                           the hot spots of the last run of each
//
// Each system runs as its own child process, the load as another (pinned to separate cores
// with taskset when there are ≥ 2). Runs alternate between systems. Results: a table on
// stdout and bench/results/<timestamp>.json.
import { existsSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { summariseProfile } from './lib/cpuprofile.js';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machineInfo, pinningPlan } from './lib/machine.js';
import { median, medianOf } from './lib/stats.js';
import { fmt, renderTable } from './lib/table.js';
import runwatch from './systems/runwatch.js';
import wsBroadcast from './systems/ws-broadcast.js';
import wsBroadcastBatched from './systems/ws-broadcast-batched.js';
import fanout from './scenarios/fanout.js';

/** Every known system; those marked `optional` run only when named in --systems. */
const SYSTEMS = [runwatch, wsBroadcast, wsBroadcastBatched];
const SCENARIOS = [fanout];
/** The system every other one is compared to (ratio column). */
const BASELINE = 'ws-broadcast';

const { values: args } = parseArgs({
	options: {
		quick: { type: 'boolean', default: false },
		scenario: { type: 'string' },
		systems: { type: 'string' },
		runs: { type: 'string' },
		subscribers: { type: 'string' },
		events: { type: 'string' },
		batch: { type: 'string' },
		'in-flight': { type: 'string' },
		payload: { type: 'string' },
		timeout: { type: 'string' },
		'no-pin': { type: 'boolean', default: false },
		profile: { type: 'boolean', default: false },
		verbose: { type: 'boolean', default: false },
		help: { type: 'boolean', short: 'h', default: false }
	}
});

if (args.help) {
	console.log(`npm run bench -- [--quick] [--scenario ${SCENARIOS.map((s) => s.name).join('|')}] [--systems ${SYSTEMS.map((s) => s.name).join(',')}]
  [--runs N] [--subscribers N] [--events N] [--batch N] [--in-flight N] [--payload BYTES] [--timeout SECONDS]
  [--no-pin] [--profile] [--verbose]`);
	process.exit(0);
}

function positiveInt(name, raw, max) {
	if (raw === undefined) return undefined;
	const n = Number(raw);
	if (!Number.isInteger(n) || n < 1 || n > max) {
		console.error(`--${name} must be an integer in 1..${max}, got "${raw}"`);
		process.exit(2);
	}
	return n;
}

const runs = positiveInt('runs', args.runs, 50) ?? (args.quick ? 1 : 3);
const scenarios = args.scenario ? SCENARIOS.filter((s) => s.name === args.scenario) : SCENARIOS;
if (scenarios.length === 0) {
	console.error(`Unknown scenario "${args.scenario}". Known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
	process.exit(2);
}
const wanted = args.systems?.split(',').map((s) => s.trim());
const systems = wanted ? SYSTEMS.filter((s) => wanted.includes(s.name)) : SYSTEMS.filter((s) => !s.optional);
if (systems.length === 0 || (wanted && systems.length !== wanted.length)) {
	console.error(`Unknown system in "${args.systems}". Known: ${SYSTEMS.map((s) => s.name).join(', ')}`);
	process.exit(2);
}
const overrides = Object.fromEntries(
	Object.entries({
		subscribers: positiveInt('subscribers', args.subscribers, 10000),
		events: positiveInt('events', args.events, 10_000_000),
		batch: positiveInt('batch', args.batch, 1000),
		inFlight: positiveInt('in-flight', args['in-flight'], 64),
		payloadBytes: positiveInt('payload', args.payload, 200_000),
		timeoutMs: args.timeout ? positiveInt('timeout', args.timeout, 3600) * 1000 : undefined
	}).filter(([, v]) => v !== undefined)
);

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const resultsDir = join(benchDir, 'results');
const profileDir = join(resultsDir, 'profiles');
const machine = machineInfo();
const pin = pinningPlan({ disabled: args['no-pin'] });

console.log(`Machine: ${machine.cpuModel}, ${machine.cores} cores (${machine.allowedCpus} usable), ${machine.memGb} GB, Node ${machine.node}`);
console.log(`Pinning: ${pin.note}`);

const report = { startedAt: new Date().toISOString(), machine, pinning: pin, runs, scenarios: [] };
const stamp = report.startedAt.replace(/[:.]/g, '-');
let failed = false;

for (const scenario of scenarios) {
	const params = { ...scenario.defaults, ...overrides };
	console.log(`\nScenario ${scenario.name}: ${scenario.description}`);
	console.log(`  ${JSON.stringify(params)}; ${runs} run(s) per system, alternating`);
	const perSystem = new Map(systems.map((s) => [s.name, []]));
	const errors = new Map(systems.map((s) => [s.name, []]));
	for (let r = 1; r <= runs; r++) {
		for (const system of systems) {
			const profArgs = (who) => ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${stamp}-${scenario.name}-${system.name}-${who}-run${r}.cpuprofile`];
			if (args.profile) mkdirSync(profileDir, { recursive: true });
			const serverNodeArgs = args.profile ? profArgs('server') : [];
			const loadNodeArgs = args.profile ? profArgs('load') : [];
			const t = Date.now();
			try {
				const result = await scenario.run(system, { params, pin, serverNodeArgs, loadNodeArgs, echo: args.verbose });
				perSystem.get(system.name).push(result);
				const flags = result.timedOut ? ' TIMED OUT' : '';
				console.log(
					`  run ${r}/${runs} ${system.name.padEnd(13)} ${fmt(result.deliveredPerSec).padStart(11)} events/s  ` +
						`${fmt(result.elapsedMs)} ms  lost ${result.lost} dup ${result.duplicated} ooo ${result.outOfOrder}` +
						`  server cpu ${fmt(result.serverCpuSec, 2)} s${flags}  (${fmt((Date.now() - t) / 1000, 1)} s wall)`
				);
			} catch (error) {
				failed = true;
				errors.get(system.name).push(String(error?.message ?? error));
				console.error(`  run ${r}/${runs} ${system.name}: FAILED: ${error?.message ?? error}`);
			}
		}
	}

	const summary = systems.map((system) => {
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
				? {
						lost: Math.max(...list.map((x) => x.lost)),
						duplicated: Math.max(...list.map((x) => x.duplicated)),
						outOfOrder: Math.max(...list.map((x) => x.outOfOrder)),
						unexpected: Math.max(...list.map((x) => x.unexpected))
					}
				: undefined,
			runs: list,
			errors: errors.get(system.name)
		};
	});
	const base = summary.find((s) => s.system === BASELINE)?.median?.deliveredPerSec;
	for (const s of summary) s.ratioToBaseline = s.median ? s.median.deliveredPerSec / base : undefined;

	const rows = summary.map((s) => {
		const m = s.median ?? {};
		const w = s.worst ?? {};
		return [
			s.label,
			fmt(m.deliveredPerSec),
			Number.isFinite(s.ratioToBaseline) ? `${fmt(s.ratioToBaseline, 2)}×` : '-',
			fmt(m.elapsedMs),
			fmt(m.ingestPerSec),
			fmt(m.serverCpuPct),
			fmt(m.loadCpuPct),
			fmt(m.deliveredPerServerCpuSec),
			fmt(m.frames),
			`${fmt(w.lost)} / ${fmt(w.duplicated)} / ${fmt(w.outOfOrder)}`,
			`${s.completedRuns - s.timedOutRuns}/${runs}`
		];
	});
	console.log(`\nfanout: ${params.subscribers} subscribers × ${fmt(params.events)} events (median of ${runs} run(s))\n`);
	console.log(
		renderTable(
			[
				'system',
				'delivered events/s',
				`÷ ${BASELINE}`,
				'time ms',
				'ingest events/s',
				'server CPU %',
				'load CPU %',
				'delivered / server CPU-s',
				'frames recv',
				'lost / dup / out-of-order (worst run)',
				'ok runs'
			],
			rows
		)
	);
	for (const s of summary) {
		if (s.median?.loadCpuPct >= 90) {
			console.log(`Note: ${s.label}: the load process was saturated (${fmt(s.median.loadCpuPct)} % of a core); its delivered events/s is a lower bound of the server's capacity. See "delivered / server CPU-s" for the server's own cost.`);
		}
	}
	console.log(`\nMachine: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; ${pin.note}`);
	const rw = summary.find((s) => s.system === 'runwatch');
	if (rw?.worst && (rw.worst.lost || rw.worst.duplicated || rw.worst.outOfOrder || rw.worst.unexpected)) {
		failed = true;
		console.error('Runwatch correctness violated: lost/duplicated/out-of-order events must be zero.');
	}
	report.scenarios.push({ scenario: scenario.name, params, systems: summary });
}

report.finishedAt = new Date().toISOString();
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `${stamp}.json`);
writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
console.log(`\nResults: ${file}`);
if (args.profile) {
	// The last run's profiles, server and load, per system: where the CPU time went.
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
