#!/usr/bin/env node
/** The `runwatch` command. See `runwatch --help`. */
// CommonJS, and only CommonJS modules until the URL is printed: Node starts a CommonJS entry
// tens of milliseconds sooner than an ES module one, and each module loaded costs more. The
// client, HTTP and child-process modules (ES modules) load after the URL is out.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_URL, normaliseBaseUrl } from './base-url.cjs';
import { HELP, parseArgs, UsageError } from './cli-args.cjs';

async function main(args: string[]): Promise<number> {
	const command = parseArgs(args);
	switch (command.command) {
		case 'help':
			process.stdout.write(`${HELP}\n`);
			return 0;
		case 'version': {
			const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
			process.stdout.write(`${pkg.version}\n`);
			return 0;
		}
		case 'tail': {
			const { tailExecution } = await import('./cli-tail.js');
			return tailExecution(command.target, process.env);
		}
		case 'run': {
			const token = process.env.RUNWATCH_TOKEN;
			if (!token) {
				throw new UsageError(
					'RUNWATCH_TOKEN is not set. It is the server\'s ingest token: on the server run `cat data/ingest-token` ' +
						'(or use its RUNWATCH_INGEST_TOKEN), then `export RUNWATCH_TOKEN=<token>`.'
				);
			}
			const baseUrl = normaliseBaseUrl(process.env.RUNWATCH_URL || DEFAULT_URL);
			// As `randomId` (ids.ts), an ES module this entry does not load before printing.
			const id = command.id ?? randomBytes(16).toString('base64url');
			process.stderr.write(`runwatch: watching at ${baseUrl}/executions/${id}\n`);
			const { runCommand } = await import('./cli-run.js');
			return runCommand({ ...command, id }, { baseUrl, token });
		}
	}
}

main(process.argv.slice(2)).then(
	(code) => process.exit(code),
	(error: unknown) => {
		if (error instanceof UsageError || error instanceof TypeError) {
			process.stderr.write(`runwatch: ${error.message}\n`);
			process.exit(2);
		}
		process.stderr.write(`runwatch: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
		process.exit(1);
	}
);
