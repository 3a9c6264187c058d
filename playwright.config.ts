// Browser tests: the real production build (`node server/index.js`) driven by the system Chromium.
// Playwright's own browser download does not work here, so we point it at Debian's package
// (`apt-get install chromium`) or at $CHROMIUM_PATH. Each test file gets its server from the
// fixtures in tests/e2e/support/fixtures.ts; `npm run build` must have run first.
// tests/e2e/proxy/ puts a real nginx (Debian package `nginx`, tests/e2e/support/nginx.ts) in front
// of the app; without nginx those tests skip themselves, except under CI=true, where they fail.
import { defineConfig, devices } from '@playwright/test';
import { CHROMIUM_PATH } from './tests/e2e/support/chromium.ts';

/** Browser tests with a time bound (long tasks, first render, POST-to-page latency). */
const TIMED = ['**/dashboard/perf.spec.ts', '**/proxy/buffering.spec.ts'];

export default defineConfig({
	testDir: 'tests/e2e',
	testMatch: '**/*.spec.ts',
	globalSetup: './tests/e2e/support/global-setup.ts',
	// Artifacts of failing tests (traces, screenshots). The screenshot test writes its pictures
	// to test-results/screenshots/, outside this folder, which Playwright empties on every run.
	outputDir: 'test-results/e2e',
	fullyParallel: false,
	workers: 2,
	forbidOnly: !!process.env.CI,
	retries: 0,
	timeout: 45_000,
	// Correctness waits, not latency bounds: generous, for a busy 2-core machine.
	expect: { timeout: 20_000 },
	// `npm test` (scripts/test.js) adds a JSON report for its summary.
	reporter: 'list',
	projects: [
		{ name: 'e2e', testIgnore: TIMED },
		// Tests that fail above a time bound run after the rest, one at a time: a parallel worker's
		// browser on these two cores would show up as long tasks and latency that are not ours.
		// No trace at all here: Playwright's DOM snapshots run on the page's main thread, at every
		// action, and would be counted in the long tasks these tests report.
		{ name: 'timed', testMatch: TIMED, dependencies: ['e2e'], workers: 1, use: { trace: 'off' } }
	],
	use: {
		...devices['Desktop Chrome'],
		viewport: { width: 1280, height: 800 },
		// A failing test keeps its trace (actions, DOM snapshots, network, console), without the
		// screencast: recording a frame per paint cost these two cores several seconds per page
		// (proxy/fallback.spec.ts: 4.3 s to the first live event with it, 2.1 s without), time
		// that the figures then blamed on the product. The failure screenshot below stays.
		trace: { mode: 'retain-on-failure', screenshots: false },
		screenshot: 'only-on-failure',
		launchOptions: {
			executablePath: CHROMIUM_PATH,
			args: [
				'--no-sandbox',
				'--disable-gpu',
				'--disable-quic',
				'--no-first-run',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync'
			]
		}
	}
});
