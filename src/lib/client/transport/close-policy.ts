import { CLOSE_CODES } from '../../protocol/codes.js';

/**
 * What to do after a transport closed:
 * - `reconnect` with `delay: 'now'`: the server went away on purpose (restart, deploy) and
 *   wants us back at once, on this node or another.
 * - `reconnect` with `delay: 'backoff'`: something failed; try again after a backoff wait.
 * - `final`: retrying cannot help until the person acts; stay down. `forbidden` when this viewer
 *   may not view (4403: signed out, share revoked or expired): the page offers to sign in again.
 */
export type CloseDecision =
	| { action: 'reconnect'; delay: 'now' | 'backoff' }
	| { action: 'final'; forbidden: boolean; reason: string };

/** What the page says when the server no longer lets this viewer view. */
export const FORBIDDEN_REASON = 'Your sign-in has ended, or the share link was revoked or has expired.';

/** 1012 "service restart" (RFC 6455 registry): same meaning as 1001 for us. */
const SERVICE_RESTART = 1012;

/**
 * A server that closes with 1001 gets us back at once, but only if the connection had lasted
 * this long: a server that accepts and immediately sends us away again gets backoff, not a loop.
 */
export const MIN_STABLE_MS = 1_000;

/**
 * The one place that decides reconnect versus give up, from a close code and how long the
 * connection had been live (`lastedMs`; unknown counts as long enough).
 */
export function closeDecision(code: number, lastedMs = Infinity): CloseDecision {
	if (code === CLOSE_CODES.goingAway || code === SERVICE_RESTART) {
		return { action: 'reconnect', delay: lastedMs >= MIN_STABLE_MS ? 'now' : 'backoff' };
	}
	if (code === CLOSE_CODES.forbidden) return { action: 'final', forbidden: true, reason: FORBIDDEN_REASON };
	// 4400–4499 are ours, "the request itself is wrong" (like HTTP 4xx): the same request fails again.
	if (code >= 4400 && code <= 4499) return { action: 'final', forbidden: false, reason: `Server refused the connection (close code ${code})` };
	// Everything else (1006 dropped, 1011 server error, 1013 try later, 1003/1009 after a bad frame,
	// even 1000 while we still follow executions) is worth another try once things settle.
	return { action: 'reconnect', delay: 'backoff' };
}
