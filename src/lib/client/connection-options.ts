import { DEFAULT_BACKOFF_MAX_MS, DEFAULT_BACKOFF_MIN_MS, DEFAULT_FAST_RETRIES, DEFAULT_FAST_RETRY_MAX_MS } from './backoff.js';
import type { ConnectionEnvironment } from './environment.js';
import { firstSupported, type TransportPolicy } from './transport/select.js';
import type { ServerCheck } from './transport/server-check.js';
import type { TransportFactory } from './transport/transport.js';

export interface ConnectionOptions {
	/** Transports in order of preference; the first supported one is used (unless `policy` is given). */
	transports: TransportFactory[];
	/** Chooses the transport per attempt and when to probe for a better one (`transport/select.ts`). */
	policy?: TransportPolicy;
	/** An attempt that has not opened by then has failed. Default 5 s. */
	connectTimeoutMs?: number;
	/**
	 * An open connection that has delivered no message by then is silent (a proxy that accepted
	 * the upgrade and passes nothing): the policy hears of it and we reconnect. Default 4 s.
	 */
	firstMessageTimeoutMs?: number;
	/** While on a fallback transport, how often to probe the preferred one. Default 30 s. */
	probeIntervalMs?: number;
	/** Application ping interval. Default 20 s: below common proxy idle timeouts (30–60 s). */
	pingIntervalMs?: number;
	/** No message at all for this long means the connection is dead. Default: two ping intervals. */
	deadAfterMs?: number;
	/** How long the socket stays open after the last listener leaves, so navigating between pages reuses it. Default 5 s. */
	lingerMs?: number;
	/** Backoff bounds; see `backoff.ts`. Defaults 500 ms and 15 s. */
	backoffMinMs?: number;
	backoffMaxMs?: number;
	/** Attempts after a drop that wait at most `fastRetryMaxMs` (`reconnectDelay` in `backoff.ts`). Default 20. */
	fastRetries?: number;
	/** Default 1 s: a restarted server has its viewers back within about a second. */
	fastRetryMaxMs?: number;
	/**
	 * Asked after a WebSocket attempt failed, since a browser reports a refused upgrade, a proxy
	 * that blocks WebSocket and a server that is down alike (1006): `up` means HTTP works where
	 * WebSocket failed (evidence for the fallback policy), `down` that the server is away (no
	 * evidence: try WebSocket again soon), `forbidden` that this viewer may not view. Without it,
	 * every failed attempt counts as evidence. The page passes `checkServer` on the SSE URL.
	 */
	checkServer?: () => Promise<ServerCheck>;
	random?: () => number;
	environment?: ConnectionEnvironment;
	/** Diagnostics that need no action from the caller (a malformed server frame). */
	onDiagnostic?: (message: string) => void;
}

export const DEFAULT_PING_INTERVAL_MS = 20_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_FIRST_MESSAGE_TIMEOUT_MS = 4_000;
export const DEFAULT_PROBE_INTERVAL_MS = 30_000;
export const DEFAULT_LINGER_MS = 5_000;

/** The options with every default filled in, resolved once. */
export type ResolvedConnectionOptions = Required<Omit<ConnectionOptions, 'transports' | 'environment' | 'checkServer'>> & {
	environment: ConnectionEnvironment | undefined;
	checkServer: (() => Promise<ServerCheck>) | undefined;
};

export function resolveConnectionOptions(options: ConnectionOptions): ResolvedConnectionOptions {
	if (options.transports.length === 0) throw new TypeError('Connection needs at least one transport factory');
	const pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
	return {
		policy: options.policy ?? firstSupported(options.transports),
		connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
		firstMessageTimeoutMs: options.firstMessageTimeoutMs ?? DEFAULT_FIRST_MESSAGE_TIMEOUT_MS,
		probeIntervalMs: options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS,
		pingIntervalMs,
		deadAfterMs: options.deadAfterMs ?? 2 * pingIntervalMs,
		lingerMs: options.lingerMs ?? DEFAULT_LINGER_MS,
		backoffMinMs: options.backoffMinMs ?? DEFAULT_BACKOFF_MIN_MS,
		backoffMaxMs: options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS,
		fastRetries: options.fastRetries ?? DEFAULT_FAST_RETRIES,
		fastRetryMaxMs: options.fastRetryMaxMs ?? DEFAULT_FAST_RETRY_MAX_MS,
		checkServer: options.checkServer,
		random: options.random ?? Math.random,
		environment: options.environment,
		onDiagnostic: options.onDiagnostic ?? ((message) => console.warn(`[runwatch] ${message}`))
	};
}
