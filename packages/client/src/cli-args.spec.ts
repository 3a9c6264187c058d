import { expect, test } from 'vitest';
import { parseArgs, UsageError } from './cli-args.cjs';

test('run: options before the command, with or without --, then the command untouched', () => {
	expect(parseArgs(['run', '--name', 'x', '--grace=2', '--', 'node', '-e', '--name'])).toEqual({
		command: 'run',
		name: 'x',
		id: undefined,
		department: undefined,
		graceSeconds: 2,
		argv: ['node', '-e', '--name']
	});
	expect(parseArgs(['run', 'ls', '-l'])).toMatchObject({ argv: ['ls', '-l'], graceSeconds: 10 });
});

test('usage errors say what to type', () => {
	expect(() => parseArgs(['run'])).toThrow(UsageError);
	expect(() => parseArgs(['run', '--'])).toThrow(/needs a command/);
	expect(() => parseArgs(['run', '--nmae', 'x', '--', 'ls'])).toThrow(/unknown option "--nmae"/);
	expect(() => parseArgs(['run', '--id', 'bad id', 'ls'])).toThrow(/--id/);
	expect(() => parseArgs(['run', '--grace', 'soon', 'ls'])).toThrow(/--grace/);
	expect(() => parseArgs(['tail'])).toThrow(/one execution id/);
	expect(() => parseArgs(['frobnicate'])).toThrow(/unknown command/);
	expect(parseArgs([])).toEqual({ command: 'help' });
	expect(parseArgs(['tail', 'abc'])).toEqual({ command: 'tail', target: 'abc' });
	expect(() => parseArgs(['tail', 'a', 'b'])).toThrow(/one execution id/);
});

test('tail: a generated id that starts with "-" is an id, with or without --', () => {
	expect(parseArgs(['tail', '-znO3l3w3qhzHiyCmN0VNA'])).toEqual({ command: 'tail', target: '-znO3l3w3qhzHiyCmN0VNA' });
	expect(parseArgs(['tail', '--', '-znO3l3w3qhzHiyCmN0VNA'])).toEqual({ command: 'tail', target: '-znO3l3w3qhzHiyCmN0VNA' });
	expect(parseArgs(['tail', '--', '--x'])).toEqual({ command: 'tail', target: '--x' });
	expect(parseArgs(['tail', '--help'])).toEqual({ command: 'help' });
	expect(() => parseArgs(['tail', '-not/an-id'])).toThrow(/one execution id/);
});
