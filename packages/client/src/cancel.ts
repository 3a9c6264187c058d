/**
 * The cancel long-poll: `GET /api/executions/:id/cancel?wait=20`, re-issued as soon as it
 * answers, so a cancel request reaches the agent within moments even while it sends nothing.
 */
import { backoff } from './backoff.js';
import { getJsonUnref } from './http.js';
import { sleep } from './sender.js';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

export interface CancelPollOptions {
	baseUrl: string;
	token: string | undefined;
	executionId: string;
	/** Seconds the server may hold each poll (0–25). */
	waitSeconds: number;
	/** Ends the loop. */
	signal: AbortSignal;
	/** Called once when the server says a cancel was requested. */
	onCancel(reason: string | undefined): void;
}

/** Polls until a cancel is requested, the execution has ended, or `signal` aborts. Never throws. */
export async function pollCancel({ baseUrl, token, executionId, waitSeconds, signal, onCancel }: CancelPollOptions): Promise<void> {
	const url = `${baseUrl}/api/executions/${encodeURIComponent(executionId)}/cancel?wait=${waitSeconds}`;
	let failures = 0;
	while (!signal.aborted) {
		const outcome = await getJsonUnref(url, { token, timeoutMs: (waitSeconds + 10) * 1000, signal });
		if (signal.aborted) return;
		if (outcome.kind === 'ok') {
			failures = 0;
			const body = (outcome.body ?? {}) as { cancelRequested?: unknown; reason?: unknown; status?: unknown };
			if (body.cancelRequested === true) return onCancel(typeof body.reason === 'string' ? body.reason : undefined);
			if (typeof body.status === 'string' && TERMINAL.has(body.status)) return;
			continue;
		}
		// Errors (server down, an older server without the endpoint): back off, at most 1 s.
		await sleep(backoff(failures++, { minMs: 100, maxMs: 1000 }), signal);
	}
}
