/**
 * What one plain HTTP request to the server says, where a WebSocket or EventSource cannot tell
 * (a browser reports a refused upgrade, a refused EventSource and a server that is down alike):
 *
 * - `up`: the server answers over HTTP (so a failing WebSocket is the path's fault: a proxy);
 * - `forbidden`: it answers 401 or 403: this viewer may not view (signed out, share revoked or
 *   expired); retrying cannot help until the person signs in;
 * - `down`: no answer, or a 5xx (a proxy whose upstream is down, a server draining).
 */
export type ServerCheck = 'up' | 'forbidden' | 'down';

/** Long enough for a busy server, short enough that a black-holed request does not stall reconnecting. */
export const SERVER_CHECK_TIMEOUT_MS = 3_000;

export function classifyStatus(status: number): ServerCheck {
	if (status === 401 || status === 403) return 'forbidden';
	if (status >= 500) return 'down';
	return 'up';
}

/**
 * `HEAD url` (the SSE endpoint: it checks the same right to view as the WebSocket upgrade,
 * answers HEAD with headers only, and 503 while the server drains), classified.
 */
export async function checkServer(
	url: string,
	options: { fetch?: typeof fetch; timeoutMs?: number } = {}
): Promise<ServerCheck> {
	const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
	const controller = new AbortController();
	const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? SERVER_CHECK_TIMEOUT_MS);
	try {
		const response = await fetchImpl(url, {
			method: 'HEAD',
			credentials: 'same-origin',
			cache: 'no-store',
			signal: controller.signal
		});
		return classifyStatus(response.status);
	} catch {
		return 'down';
	} finally {
		clearTimeout(timer);
	}
}
