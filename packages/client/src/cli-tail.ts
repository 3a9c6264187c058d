/**
 * `runwatch tail <id | url>`: follows one execution over its SSE stream
 * (`GET /api/executions/:id/stream`), resuming after the last seq it printed when the
 * connection drops, so nothing is printed twice or skipped.
 */
import { backoff } from './backoff.js';
import { normaliseBaseUrl } from './config.js';
import { ID_PATTERN } from './ids.js';
import { setTimeout as delay } from 'node:timers/promises';
import { SseParser } from './sse.js';
import { UsageError } from './cli-args.cjs';

interface StoredEvent {
	seq: number;
	type: string;
	ts: string;
	stepId?: string;
	parentStepId?: string;
	data?: Record<string, unknown>;
}

/** No bytes for this long (the server sends a heartbeat every 5 s): the stream is dead, reconnect. */
const SILENCE_TIMEOUT_MS = 20_000;

/** `{ baseUrl, id }` from an id (base from RUNWATCH_URL) or an execution page URL. */
export function resolveTarget(target: string, envUrl: string | undefined): { baseUrl: string; id: string } {
	if (/^https?:\/\//i.test(target)) {
		const url = new URL(target);
		const match = /^(.*)\/executions\/([^/]+)\/?$/.exec(url.pathname);
		if (!match) throw new UsageError(`"${target}" is not an execution URL (…/executions/<id>)`);
		return { baseUrl: normaliseBaseUrl(url.origin + match[1]), id: decodeURIComponent(match[2]!) };
	}
	if (!ID_PATTERN.test(target)) throw new UsageError(`"${target}" is not an execution id or URL`);
	return { baseUrl: normaliseBaseUrl(envUrl || 'http://127.0.0.1:3000'), id: target };
}

function seconds(ms: unknown): string {
	return typeof ms === 'number' ? (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`) : '';
}

/** Prints events: output as-is on stdout, one line per other event on stderr. */
class Printer {
	#steps = new Map<string, { name: string; depth: number; startedAt: number }>();
	#midLine = false;

	/** Prints one event; returns the exit code when the execution has ended. */
	print(event: StoredEvent): number | undefined {
		const data = event.data ?? {};
		if (event.type === 'output') {
			const text = typeof data.text === 'string' ? data.text : '';
			process.stdout.write(text);
			if (text) this.#midLine = !text.endsWith('\n');
			return undefined;
		}
		const step = event.stepId ? this.#steps.get(event.stepId) : undefined;
		switch (event.type) {
			case 'agent-start':
				return this.#line('▶ started');
			case 'log':
				return this.#line(`[${String(data.level ?? 'info')}] ${String(data.message ?? '')}`);
			case 'step-start': {
				const parent = event.parentStepId ? this.#steps.get(event.parentStepId) : undefined;
				const depth = parent ? parent.depth + 1 : 0;
				const name = String(data.name ?? event.stepId);
				if (event.stepId) this.#steps.set(event.stepId, { name, depth, startedAt: Date.parse(event.ts) });
				return this.#line(`${'  '.repeat(depth)}┌ ${name} (${String(data.kind ?? 'custom')})`);
			}
			case 'step-end': {
				const name = step?.name ?? event.stepId ?? '';
				const indent = '  '.repeat(step?.depth ?? 0);
				const duration = seconds(data.durationMs ?? (step ? Date.parse(event.ts) - step.startedAt : undefined));
				const error = data.error as { message?: unknown } | undefined;
				if (error !== undefined) return this.#line(`${indent}└ ${name} failed after ${duration}: ${String(error?.message ?? JSON.stringify(error))}`);
				return this.#line(`${indent}└ ${name} ${duration}`);
			}
			case 'usage': {
				const parts = [];
				if (data.inputTokens !== undefined) parts.push(`${String(data.inputTokens)} in`);
				if (data.outputTokens !== undefined) parts.push(`${String(data.outputTokens)} out`);
				if (data.costUsd !== undefined) parts.push(`$${Number(data.costUsd).toFixed(4)}`);
				return this.#line(`usage: ${parts.join(', ')}`);
			}
			case 'cancel-requested':
				return this.#line(`cancel requested${data.reason ? `: ${String(data.reason)}` : ''}`);
			case 'agent-complete':
				this.#line('✔ completed');
				return 0;
			case 'error':
				this.#line(`✖ failed: ${String(data.message ?? '')}`);
				if (typeof data.stack === 'string') this.#line(data.stack);
				return 1;
			case 'cancelled':
				this.#line(`■ cancelled${data.reason ? `: ${String(data.reason)}` : ''}`);
				return 130;
			default:
				return this.#line(`${event.type}${event.data !== undefined ? ` ${JSON.stringify(event.data)}` : ''}`);
		}
	}

	#line(text: string): undefined {
		// Output that stopped mid-line and this line would share a terminal row.
		if (this.#midLine && process.stdout.isTTY && process.stderr.isTTY) process.stdout.write('\n');
		this.#midLine = false;
		process.stderr.write(`${text}\n`);
		return undefined;
	}
}

export async function tailExecution(target: string, env: NodeJS.ProcessEnv): Promise<number> {
	const { baseUrl, id } = resolveTarget(target, env.RUNWATCH_URL);
	const url = `${baseUrl}/api/executions/${encodeURIComponent(id)}/stream`;
	const printer = new Printer();
	let lastSeq = 0;
	let failures = 0;
	let warned = false;
	for (;;) {
		const headers: Record<string, string> = { accept: 'text/event-stream' };
		if (env.RUNWATCH_TOKEN) headers.authorization = `Bearer ${env.RUNWATCH_TOKEN}`;
		if (lastSeq > 0) headers['last-event-id'] = String(lastSeq);
		const controller = new AbortController();
		let silence: NodeJS.Timeout | undefined;
		const alive = () => {
			clearTimeout(silence);
			silence = setTimeout(() => controller.abort(), SILENCE_TIMEOUT_MS);
		};
		try {
			alive();
			const response = await fetch(url, { headers, signal: controller.signal });
			if (response.status === 404) {
				process.stderr.write(`runwatch: no execution "${id}" at ${baseUrl}\n`);
				return 2;
			}
			if (response.status === 401 || response.status === 403) {
				process.stderr.write(`runwatch: ${baseUrl} does not let us view executions (HTTP ${response.status}); set RUNWATCH_TOKEN (on the server: cat data/ingest-token)\n`);
				return 2;
			}
			if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
			failures = 0;
			const parser = new SseParser();
			const decoder = new TextDecoder('utf-8');
			for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
				alive();
				for (const message of parser.push(decoder.decode(chunk, { stream: true }))) {
					let event: StoredEvent;
					try {
						event = JSON.parse(message.data) as StoredEvent;
					} catch {
						continue;
					}
					const seq = typeof event.seq === 'number' ? event.seq : Number(message.lastEventId);
					if (!(seq > lastSeq)) continue; // already printed
					lastSeq = seq;
					const code = printer.print(event);
					if (code !== undefined) return code;
				}
			}
			// Ended before the execution did (a server draining for a restart ends its streams
			// cleanly): as much a lost stream as a reset, and said the same way.
			throw new Error('the server ended the stream');
		} catch (error) {
			if (!warned) {
				warned = true;
				process.stderr.write(`runwatch: lost the stream from ${baseUrl} (${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)}); reconnecting\n`);
			}
		} finally {
			clearTimeout(silence);
			controller.abort();
		}
		// a ref'd timer: between two connections it is all that keeps the process alive
		await delay(backoff(failures++, { minMs: 250, maxMs: 5000 }));
	}
}
