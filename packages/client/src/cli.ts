#!/usr/bin/env node
/** The `runwatch` command. See `runwatch --help`. */
import { readFileSync } from 'node:fs';
import { HELP, parseArgs, UsageError } from './cli-args.js';
import { runCommand } from './cli-run.js';
import { tailExecution } from './cli-tail.js';

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
		case 'tail':
			return tailExecution(command.target, process.env);
		case 'run': {
			const token = process.env.RUNWATCH_TOKEN;
			if (!token) {
				throw new UsageError(
					'RUNWATCH_TOKEN is not set. It is the server\'s ingest token: on the server run `cat data/ingest-token` ' +
						'(or use its RUNWATCH_INGEST_TOKEN), then `export RUNWATCH_TOKEN=<token>`.'
				);
			}
			return runCommand(command, token);
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
