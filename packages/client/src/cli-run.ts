/**
 * `runwatch run -- <command…>`: the command runs exactly as it would without runwatch (its
 * stdout and stderr are passed through byte for byte), and is recorded as an execution.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { basename } from 'node:path';
import { createRunwatch } from './client.js';
import type { Execution } from './execution.js';

export interface RunCommand {
	name?: string;
	id?: string;
	department?: string;
	graceSeconds: number;
	argv: string[];
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** How long the recording may delay the exit once the command has ended. */
const FLUSH_TIMEOUT_MS = 5000;

/**
 * The child's environment. Its stdout and stderr are pipes, so tools would turn colours off;
 * when runwatch's own stdout is a terminal (what the command would have written to), we set
 * FORCE_COLOR=1 so it looks the same as without runwatch — unless the user set FORCE_COLOR or
 * NO_COLOR. When runwatch's stdout is not a terminal nothing is added, so the bytes are the ones
 * the command writes to a pipe.
 */
function childEnv(executionId: string, baseUrl: string): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = { ...process.env, RUNWATCH_EXECUTION_ID: executionId, RUNWATCH_URL: baseUrl };
	if (process.stdout.isTTY && env.FORCE_COLOR === undefined && env.NO_COLOR === undefined) env.FORCE_COLOR = '1';
	return env;
}

/** Runs the command; the caller has printed the URL already (`id` is set). */
export async function runCommand(options: RunCommand & { id: string }, { baseUrl, token }: { baseUrl: string; token: string }): Promise<number> {
	// No delivery thread: this process only pipes the command's output, and starts faster without one.
	const runwatch = createRunwatch({ url: baseUrl, token, flushOnExit: false, deliveryThread: false });
	const [file, ...args] = options.argv as [string, ...string[]];
	const execution = runwatch.open({
		id: options.id,
		agent: options.name ?? basename(file),
		department: options.department,
		input: { command: options.argv, cwd: process.cwd() }
	});
	const code = await supervise(execution, baseUrl, file, args, options.graceSeconds);
	await runwatch.close({ timeoutMs: FLUSH_TIMEOUT_MS });
	return code;
}

function supervise(execution: Execution, baseUrl: string, file: string, args: string[], graceSeconds: number): Promise<number> {
	return new Promise((resolve) => {
		const child = spawn(file, args, { stdio: ['inherit', 'pipe', 'pipe'], env: childEnv(execution.id, baseUrl) });
		let settled = false;
		let cancelling = false;
		let killTimer: NodeJS.Timeout | undefined;

		const forward = (signal: NodeJS.Signals) => {
			if (child.exitCode === null && child.signalCode === null) child.kill(signal);
		};
		for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);

		const stopCancel = execution.onCancel((reason) => {
			cancelling = true;
			process.stderr.write(`runwatch: cancel requested${reason ? ` (${reason})` : ''}: stopping the command (SIGTERM, then SIGKILL after ${graceSeconds} s)\n`);
			forward('SIGTERM');
			killTimer = setTimeout(() => forward('SIGKILL'), graceSeconds * 1000);
		});

		const finish = (code: number) => {
			if (settled) return;
			settled = true;
			clearTimeout(killTimer);
			stopCancel();
			for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
			resolve(code);
		};

		for (const [name, stream, out] of [
			['stdout', child.stdout, process.stdout],
			['stderr', child.stderr, process.stderr]
		] as const) {
			// Stream mode keeps a character split across two chunks whole.
			const decoder = new TextDecoder('utf-8');
			stream.on('data', (chunk: Buffer) => {
				if (!out.write(chunk)) {
					stream.pause();
					out.once('drain', () => stream.resume());
				}
				const text = decoder.decode(chunk, { stream: true });
				if (text) execution.output(text, { stream: name });
			});
			stream.on('end', () => {
				const text = decoder.decode();
				if (text) execution.output(text, { stream: name });
			});
		}

		child.on('error', (error: NodeJS.ErrnoException) => {
			if (child.pid !== undefined) return; // an error after start (e.g. kill failed): 'close' still comes
			const notFound = error.code === 'ENOENT';
			const message = notFound ? `command not found: ${file}` : `cannot run ${file}: ${error.message}`;
			process.stderr.write(`runwatch: ${message}\n`);
			execution.fail({ message });
			finish(notFound ? 127 : 126);
		});

		child.on('close', (code, signal) => {
			if (settled) return;
			if (cancelling) {
				execution.cancelled(execution.cancelReason);
				return finish(130);
			}
			if (code === 0) {
				execution.complete({ exitCode: 0 });
				return finish(0);
			}
			if (code !== null) {
				execution.fail({ message: `exited with code ${code}` });
				return finish(code);
			}
			const name = signal ?? 'SIGKILL';
			execution.fail({ message: `killed by ${name}` });
			finish(128 + (constants.signals[name as keyof typeof constants.signals] ?? 9));
		});
	});
}
