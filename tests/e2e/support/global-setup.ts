// Fails fast, with a sentence saying what to do, when the browser tests cannot run at all.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CHROMIUM_PATH } from './chromium.ts';
import { PROJECT_ROOT } from './runwatch.ts';

export default function globalSetup(): void {
	const buildDir = process.env.RUNWATCH_BUILD_DIR ? resolve(process.env.RUNWATCH_BUILD_DIR) : join(PROJECT_ROOT, 'build');
	if (!existsSync(join(buildDir, 'handler.js'))) {
		throw new Error('No production build: run `npm run build` before the browser tests (`npm test` does both).');
	}
	if (!existsSync(CHROMIUM_PATH)) {
		throw new Error(
			`Chromium not found at ${CHROMIUM_PATH}: install it with \`sudo apt-get install chromium\` or set CHROMIUM_PATH.`
		);
	}
}
