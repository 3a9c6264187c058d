import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';
import { runwatchDevSockets } from './src/lib/server/dev/ws-plugin.ts';

export default defineConfig({
	plugins: [sveltekit(), runwatchDevSockets()],
	// The client package's CommonJS modules (`.cts`: the `runwatch` command's entry and what it
	// loads before printing its URL) are TypeScript too, for its unit tests.
	oxc: { include: /\.(m?ts|cts|[jt]sx)$/ },
	// Rolldown warns (PLUGIN_TIMINGS) when plugins take most of a build: here SvelteKit's own
	// compile step always does. Informational only, and it read like a problem in every build's output.
	build: { rolldownOptions: { checks: { bundlerTimings: false } } },
	test: {
		projects: [
			{
				extends: true,
				test: {
					name: 'unit',
					include: ['src/**/*.spec.ts', 'packages/client/src/**/*.spec.ts', 'server/**/*.spec.ts'],
					environment: 'node'
				}
			},
			{
				extends: true,
				test: {
					name: 'integration',
					include: ['tests/integration/**/*.test.ts'],
					environment: 'node',
					// Each file starts its own server process on a free loopback port.
					testTimeout: 60_000,
					hookTimeout: 120_000
				}
			}
		]
	}
});
