#!/usr/bin/env node
/** The `runwatch` command. See `runwatch --help`. */
// Only what `run` needs to print the URL is imported up front: the URL goes out before the
// client, HTTP and child-process modules load (about 200 ms on a busy machine).
import { readFileSync } from 'node:fs';
import { HELP, parseArgs, UsageError } from './cli-args.js';
import { normaliseBaseUrl } from './config.js';
import { randomId } from './ids.js';
import { DEFAULTS } from './limits.js';

async function main(args: string[]): Promise<number> {
	const command = parseArgs(args);
	switch (command.command) {
		case 'help':
			process.stdout.write(`${HELP}\n`);
			return 0;
		case 'version': {
			const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
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
			const baseUrl = normaliseBaseUrl(process.env.RUNWATCH_URL || DEFAULTS.url);
			const id = command.id ?? randomId();
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
