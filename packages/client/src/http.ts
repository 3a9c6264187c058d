/**
 * How the client talks HTTP, all over `node:http(s)`: posts (kept alive while in flight, bounded
 * by a timeout), and the cancel long-poll, whose socket is unref'd so that a poll waiting 20 s
 * never keeps a finished script alive.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseRetryAfter } from './backoff.js';

/** What came back, or why nothing did. */
export type HttpOutcome =
	| { kind: 'ok'; status: number; body: unknown }
	/** Worth retrying: network error, timeout, 408, 429, 5xx. `retryAfterMs` from the header. */
	| { kind: 'retry'; status?: number; message: string; retryAfterMs?: number }
	/** Never worth retrying as is: any other 4xx. */
	| { kind: 'refused'; status: number; code?: string; message: string };

/** Statuses a retry of the same request can fix. */
export function isRetryableStatus(status: number): boolean {
	return status === 408 || status === 429 || status >= 500;
}

function describe(error: unknown): string {
	if (!(error instanceof Error)) return String(error);
	const cause = (error as { cause?: unknown }).cause;
	if (error.name === 'TimeoutError') return 'request timed out';
	if (cause instanceof Error) return (cause as { code?: string }).code ?? cause.message;
	return (error as { code?: string }).code ?? error.message;
}

function errorBody(body: unknown): { code?: string; message?: string } {
	const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
	return { code: typeof error?.code === 'string' ? error.code : undefined, message: typeof error?.message === 'string' ? error.message : undefined };
}

function classify(status: number, body: unknown, retryAfter: string | null): HttpOutcome {
	if (status >= 200 && status < 300) return { kind: 'ok', status, body };
	const { code, message } = errorBody(body);
	const text = `HTTP ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
	if (isRetryableStatus(status)) return { kind: 'retry', status, message: text, retryAfterMs: parseRetryAfter(retryAfter) };
	return { kind: 'refused', status, code, message: text };
}

export interface PostOptions {
	token: string | undefined;
	timeoutMs: number;
	/** Aborts the request (e.g. a close deadline passed). */
	signal?: AbortSignal;
	/** Parse a 2xx answer's body (default true); when false it is read and dropped, and `body` is undefined. */
	parseOk?: boolean;
}

/**
 * POSTs a JSON body (already serialised); never throws. `node:http` rather than `fetch`: a
 * fraction of the CPU per request (no web streams, one write for head and body), which is
 * the agent's CPU. The default agent keeps the connection alive between posts; while a post is
 * in flight it keeps the process alive, as `fetch` did.
 */
export function postJson(url: string, body: string, options: PostOptions): Promise<HttpOutcome> {
	return requestJson('POST', url, body, options, false);
}

/**
 * GETs JSON over `node:http(s)` with the socket unref'd: the request never keeps the process
 * alive by itself. Never throws.
 */
export function getJsonUnref(url: string, options: PostOptions): Promise<HttpOutcome> {
	return requestJson('GET', url, undefined, options, true);
}

function requestJson(method: 'GET' | 'POST', url: string, body: string | undefined, { token, timeoutMs, signal, parseOk = true }: PostOptions, unref: boolean): Promise<HttpOutcome> {
	return new Promise((resolve) => {
		let settled = false;
		const done = (outcome: HttpOutcome) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			signal?.removeEventListener('abort', onAbort);
			resolve(outcome);
		};
		const headers: Record<string, string | number> = { accept: 'application/json' };
		if (token) headers.authorization = `Bearer ${token}`;
		if (body !== undefined) {
			headers['content-type'] = 'application/json';
			headers['content-length'] = Buffer.byteLength(body);
		}
		let req: ReturnType<typeof httpRequest>;
		try {
			req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method, headers });
		} catch (error) {
			resolve({ kind: 'retry', message: describe(error) });
			return;
		}
		const timer = setTimeout(() => {
			req.destroy();
			done({ kind: 'retry', message: 'request timed out' });
		}, timeoutMs);
		timer.unref();
		const onAbort = () => {
			req.destroy();
			done({ kind: 'retry', message: 'aborted' });
		};
		// Before anything can destroy it: a destroyed request emits 'error', which must be heard.
		req.on('error', (error) => done({ kind: 'retry', message: describe(error) }));
		if (signal?.aborted) return onAbort();
		signal?.addEventListener('abort', onAbort, { once: true });
		if (unref) req.on('socket', (socket) => socket.unref());
		req.on('response', (response) => {
			const status = response.statusCode ?? 0;
			const chunks: Buffer[] = [];
			// A 2xx nobody reads is drained without decoding or parsing (the connection is then reused).
			const keep = parseOk || status < 200 || status >= 300;
			response.on('data', (chunk: Buffer) => {
				if (keep) chunks.push(chunk);
			});
			response.on('error', (error) => done({ kind: 'retry', message: describe(error) }));
			response.on('end', () => {
				if (!keep) return done({ kind: 'ok', status, body: undefined });
				const text = Buffer.concat(chunks).toString('utf8');
				let parsed: unknown;
				try {
					parsed = text ? JSON.parse(text) : undefined;
				} catch {
					parsed = text;
				}
				const retryAfter = response.headers['retry-after'];
				done(classify(status, parsed, typeof retryAfter === 'string' ? retryAfter : null));
			});
		});
		req.end(body);
	});
}
