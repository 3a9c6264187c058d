/** Command-line parsing for `runwatch`: small, strict, with errors that say what to type. */

export class UsageError extends Error {
	override name = 'UsageError';
}

export type Command =
	| { command: 'help' }
	| { command: 'version' }
	| { command: 'run'; name?: string; id?: string; department?: string; graceSeconds: number; argv: string[] }
	| { command: 'tail'; target: string };

export const HELP = `runwatch: record a command as a Runwatch execution, or follow one.

Usage:
  runwatch run [--name NAME] [--id ID] [--department NAME] [--grace SECONDS] -- <command> [args…]
  runwatch tail [--] <id | url>
  runwatch --help | --version

run    Runs the command, prints the execution's URL at once (stderr), passes its stdout and
       stderr through unchanged and sends them as output events, forwards SIGINT, SIGTERM and
       SIGHUP, and exits with the command's exit code (128 + signal number when a signal
       killed it). A cancel from the dashboard stops the command with SIGTERM (SIGKILL after
       --grace seconds, default 10) and exits 130. A command that cannot be found exits 127.
       --name is the agent name (default: the command's file name).
tail   Follows an execution: prints its output as it comes (stdout) and one line per other
       event (stderr); exits 0 when it completes, 1 when it fails, 130 when cancelled.

Environment:
  RUNWATCH_URL     the server (default http://127.0.0.1:3000)
  RUNWATCH_TOKEN   the ingest token; on the server: cat data/ingest-token

Exit codes: the command's own (run), 0/1/130 (tail), 2 usage or configuration error.`;

/** What an execution id looks like (docs/protocol.md: 1–64 of A-Z a-z 0-9 _ -). */
const ID_SHAPE = /^[A-Za-z0-9_-]{1,64}$/;

/** Options taking a value, per command. */
const RUN_OPTIONS = new Set(['--name', '--id', '--department', '--grace']);

export function parseArgs(args: readonly string[]): Command {
	const [first, ...rest] = args;
	if (first === undefined || first === '--help' || first === '-h' || first === 'help') return { command: 'help' };
	if (first === '--version' || first === '-v') return { command: 'version' };
	if (first === 'tail') {
		if (rest.includes('--help') || rest.includes('-h')) return { command: 'help' };
		// Generated ids may start with "-": one argument shaped like an id is taken as one, and
		// `tail -- <id>` takes anything.
		const target = rest[0] === '--' && rest.length === 2 ? rest[1]! : rest.length === 1 && (!rest[0]!.startsWith('-') || ID_SHAPE.test(rest[0]!)) ? rest[0]! : undefined;
		if (target === undefined) throw new UsageError('tail takes one execution id or URL: runwatch tail [--] <id | url>');
		return { command: 'tail', target };
	}
	if (first !== 'run') throw new UsageError(`unknown command "${first}"; expected "run" or "tail" (runwatch --help)`);

	const values: Record<string, string> = {};
	let i = 0;
	for (; i < rest.length; i++) {
		const arg = rest[i]!;
		if (arg === '--') {
			i++;
			break;
		}
		if (arg === '--help' || arg === '-h') return { command: 'help' };
		if (!arg.startsWith('--')) break; // the command starts here
		const eq = arg.indexOf('=');
		const name = eq === -1 ? arg : arg.slice(0, eq);
		if (!RUN_OPTIONS.has(name)) throw new UsageError(`unknown option "${name}" for run (runwatch --help)`);
		const value = eq === -1 ? rest[++i] : arg.slice(eq + 1);
		if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
		values[name] = value;
	}
	const argv = rest.slice(i);
	if (argv.length === 0) throw new UsageError('run needs a command: runwatch run [--name NAME] -- <command> [args…]');
	let graceSeconds = 10;
	if (values['--grace'] !== undefined) {
		graceSeconds = Number(values['--grace']);
		if (!Number.isFinite(graceSeconds) || graceSeconds < 0) throw new UsageError(`--grace takes a number of seconds, got "${values['--grace']}"`);
	}
	if (values['--id'] !== undefined && !ID_SHAPE.test(values['--id'])) {
		throw new UsageError('--id must be 1–64 characters of A-Z a-z 0-9 _ -');
	}
	return { command: 'run', name: values['--name'], id: values['--id'], department: values['--department'], graceSeconds, argv };
}
