// `npm test`: builds the app and the client package (packages/client), type-checks (svelte-check),
// runs Vitest (unit + integration projects), then the Playwright browser tests in the system
// Chromium, and ends with one summary line:
//
//   tests: N passed, M failed[, K skipped]
//
// Counts come from the JSON reports both runners write beside their normal output. A step that
// fails without reporting any failed test (the build, a suite that cannot load, Playwright's
// global setup) counts as one failure, so that the summary never says "0 failed" when `npm test`
// exits non-zero.
//
// Chromium: /usr/bin/chromium or $CHROMIUM_PATH. When it is missing the browser tests are
// skipped with a message, except under CI=true, where that is a failure.
//
// nginx (Debian package `nginx`; $NGINX_PATH, PATH or /usr/sbin/nginx): the proxy browser tests in
// tests/e2e/proxy/ start their own nginx in front of the app. Without it those tests skip
// themselves with a message saying how to install it, except under CI=true, where they run and
// fail (tests/e2e/proxy/proxy.ts).
//
// python3 (Debian package `python3`): tests/integration/python-client.test.ts runs the Python
// client against the server. Without it those tests skip themselves with a message, except under
// CI=true, where they run and fail.
//
// redis-server (Debian package `redis-server`; $RUNWATCH_TEST_REDIS_SERVER): the bus tests
// (src/lib/server/bus/bus.spec.ts, tests/integration/cluster.test.ts) start their own
// redis-server on a free port, never the shared one, since they stop and restart it. Without it
// those tests skip themselves with a message, except under CI=true, where they run and fail.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
// The tests build and serve their own copy, never the `build/` a running `npm start` serves
// (rebuilding under a live server breaks every request it answers until it restarts). Every
// step below inherits this: the build writes there, the test servers serve from there.
process.env.RUNWATCH_BUILD_DIR ??= join(root, '.test-build');
const reports = join(root, 'test-results/reports');
const vitestReport = join(reports, 'vitest.json');
const playwrightReport = join(reports, 'playwright.json');
const playwrightList = join(reports, 'playwright-list.json');
const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ci = process.env.CI === 'true' || process.env.CI === '1';
const nginx = findNginx();

/** Same lookup as tests/e2e/support/nginx.ts: $NGINX_PATH, else PATH, else the usual places. */
function findNginx() {
	if (process.env.NGINX_PATH) return existsSync(process.env.NGINX_PATH) ? process.env.NGINX_PATH : undefined;
	const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin', '/usr/bin'];
	return dirs.map((dir) => dir && join(dir, 'nginx')).find((path) => path && existsSync(path));
}

/**
 * Skipped tests in the Playwright JSON report whose file is under tests/e2e/proxy/.
 * @param {any} report @returns {number}
 */
function skippedProxyTests(report) {
	let count = 0;
	/** @param {any} suite */
	const walk = (suite) => {
		for (const spec of suite.specs ?? []) {
			if (!String(spec.file ?? suite.file ?? '').startsWith('proxy/')) continue;
			for (const t of spec.tests ?? []) if (t.status === 'skipped') count++;
		}
		for (const child of suite.suites ?? []) walk(child);
	};
	for (const suite of report?.suites ?? []) walk(suite);
	return count;
}

/**
 * Tests in the Playwright JSON report that never started: a project they depend on failed (the
 * time-bound tests run only after the rest pass). Not skipped on purpose: they "did not run".
 * @param {any} report @returns {number}
 */
function testsThatDidNotRun(report) {
	let count = 0;
	/** @param {any} suite */
	const walk = (suite) => {
		for (const spec of suite.specs ?? []) {
			for (const t of spec.tests ?? []) if (t.status === 'skipped' && (t.results ?? []).length === 0) count++;
		}
		for (const child of suite.suites ?? []) walk(child);
	};
	for (const suite of report?.suites ?? []) walk(suite);
	return count;
}

const totals = { passed: 0, failed: 0, skipped: 0 };
/** The exit code of the first step that failed. */
let exitCode = 0;

/** @param {string} message */
function heading(message) {
	console.log(`\n▶ ${message}`);
}

/**
 * Runs a command with inherited output (or none, when `quiet`) and returns its exit code.
 * @param {string} command @param {string[]} args @param {{ env?: NodeJS.ProcessEnv, quiet?: boolean }} [options]
 */
function run(command, args, { env = process.env, quiet = false } = {}) {
	const started = Date.now();
	const stdio = quiet ? 'ignore' : 'inherit';
	const result = spawnSync(command, args, { cwd: root, env, stdio, shell: process.platform === 'win32' });
	const seconds = ((Date.now() - started) / 1000).toFixed(1);
	const code = result.status ?? (result.signal ? 128 : 1);
	const how = result.error ? `could not start (${result.error.message})` : result.signal ? `killed by ${result.signal}` : `exit ${code}`;
	console.log(`  ${command} ${args.join(' ')}: ${how}, ${seconds} s`);
	return result.error ? 1 : code;
}

/** @param {number} code */
function fail(code) {
	if (!exitCode) exitCode = code || 1;
}

/** @param {string} file @returns {any} */
function readJson(file) {
	try {
		return JSON.parse(readFileSync(file, 'utf8'));
	} catch {
		return undefined;
	}
}

/**
 * Adds one step's counts; a failed step with no failed test in its report counts as one failure.
 * @param {string} name @param {number} code @param {{ passed: number, failed: number, skipped: number } | undefined} counts
 */
function record(name, code, counts) {
	const c = counts ?? { passed: 0, failed: 0, skipped: 0 };
	if (code !== 0 && c.failed === 0) {
		console.log(`  ${name} failed without reporting a failed test: counted as 1 failure.`);
		c.failed = 1;
	}
	totals.passed += c.passed;
	totals.failed += c.failed;
	totals.skipped += c.skipped;
	if (code !== 0) fail(code);
}

function summary() {
	const skipped = totals.skipped ? `, ${totals.skipped} skipped` : '';
	console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed${skipped}`);
	process.exit(exitCode || (totals.failed ? 1 : 0));
}

rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });

heading('Building (npm run build)');
const buildCode = run('npm', ['run', 'build']);
if (buildCode !== 0) {
	console.error(`\nThe build failed, so no tests ran (the integration and browser tests need a build in ${process.env.RUNWATCH_BUILD_DIR}).`);
	record('npm run build', buildCode, undefined);
	summary();
}

heading('Building the client package (npm run build:client)');
const clientBuildCode = run('npm', ['run', 'build:client']);
if (clientBuildCode !== 0) {
	console.error('\nThe client package (packages/client) did not build, so no tests ran (its integration tests need packages/client/dist/).');
	record('npm run build:client', clientBuildCode, undefined);
	summary();
}

// main keeps svelte-check at 0 errors and 0 warnings; a slip counts as one failure, and the
// tests still run.
heading('Type check (npm run check, failing on warnings too)');
record('npm run check', run('npm', ['run', 'check', '--', '--fail-on-warnings']), undefined);

heading('Unit and integration tests (Vitest)');
const vitestCode = run('npx', [
	'vitest',
	'run',
	'--reporter=default',
	'--reporter=json',
	`--outputFile.json=${vitestReport}`
]);
const vitest = readJson(vitestReport);
record(
	'Vitest',
	vitestCode,
	vitest && {
		passed: vitest.numPassedTests ?? 0,
		failed: vitest.numFailedTests ?? 0,
		skipped: (vitest.numPendingTests ?? 0) + (vitest.numTodoTests ?? 0)
	}
);

if (spawnSync(process.env.RUNWATCH_TEST_PYTHON || 'python3', ['--version'], { stdio: 'ignore' }).status !== 0 && !ci) {
	console.log(
		'\nSkipped the Python client tests (tests/integration/python-client.test.ts): python3 not found.\n' +
			'Install it with `sudo apt-get install python3`, then run `npm test` again.'
	);
}

heading('Browser tests (Playwright, system Chromium)');
if (!existsSync(chromium)) {
	if (ci) {
		console.error(
			`\nCI=true and Chromium is missing: no executable at ${chromium}.\n` +
				'Install it with `apt-get install -y chromium` (Debian package "chromium"), or set CHROMIUM_PATH.'
		);
		record('The browser test step', 1, undefined);
	} else {
		const listCode = run('npx', ['playwright', 'test', '--list', '--reporter=json'], {
			env: { ...process.env, PLAYWRIGHT_JSON_OUTPUT_NAME: playwrightList },
			quiet: true
		});
		const count = listCode === 0 ? (readJson(playwrightList)?.stats?.skipped ?? 0) : 0;
		console.log(
			`\nSkipped the browser tests (${count || 'all'} Playwright tests in tests/e2e): Chromium not found at ${chromium}.\n` +
				'Install it with `sudo apt-get install chromium` (or set CHROMIUM_PATH), then run `npm test` again.'
		);
		totals.skipped += count;
	}
} else {
	if (!nginx) {
		console.log(
			ci
				? '\nCI=true and nginx is missing: the proxy browser tests (tests/e2e/proxy/) will fail.\n' +
						'Install it with `apt-get install -y nginx` (Debian package "nginx"), or set NGINX_PATH.'
				: '\nnginx not found: the proxy browser tests (tests/e2e/proxy/) will be skipped.\n' +
						'Install it with `sudo apt-get install nginx` (or set NGINX_PATH), then run `npm test` again.'
		);
	}
	const playwrightCode = run('npx', ['playwright', 'test', '--reporter=list,json'], {
		env: {
			...process.env,
			CHROMIUM_PATH: chromium,
			...(nginx ? { NGINX_PATH: nginx } : {}),
			PLAYWRIGHT_JSON_OUTPUT_NAME: playwrightReport
		}
	});
	const report = readJson(playwrightReport);
	const stats = report?.stats;
	const didNotRun = testsThatDidNotRun(report);
	record(
		'Playwright',
		playwrightCode,
		stats && {
			passed: (stats.expected ?? 0) + (stats.flaky ?? 0),
			failed: stats.unexpected ?? 0,
			skipped: Math.max(0, (stats.skipped ?? 0) - didNotRun)
		}
	);
	if (didNotRun > 0) {
		console.log(`  ${didNotRun} browser test(s) did not run: tests they depend on failed (the time-bound ones run only after the rest pass).`);
	}
	if (stats?.flaky) console.log(`  ${stats.flaky} Playwright test(s) passed only on retry (counted as passed).`);
	const proxySkipped = nginx ? 0 : skippedProxyTests(report);
	if (proxySkipped > 0) {
		console.log(
			`  Skipped ${proxySkipped} proxy browser test(s) in tests/e2e/proxy/: nginx not found. ` +
				'Install it with `sudo apt-get install nginx` (or set NGINX_PATH).'
		);
	}
}

summary();
