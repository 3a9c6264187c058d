import type { TransportFactory, TransportName } from './transport.js';

/** How one connection attempt went, as the connection manager saw it. */
export type AttemptOutcome =
	/** A server message arrived: this transport works here. */
	| 'healthy'
	/** Closed or timed out before any server message. */
	| 'failed'
	/** Opened, then nothing at all arrived in time: a proxy that accepts the upgrade and passes nothing. */
	| 'silent';

/**
 * Decides which transport the next attempt uses, and whether to probe for a better one. The
 * connection manager reports every attempt's outcome; the policy holds no timers.
 */
export interface TransportPolicy {
	next(): TransportFactory | undefined;
	report(name: TransportName, outcome: AttemptOutcome): void;
	/**
	 * Whether a failure of `name` can ever move the connection to another transport. When it
	 * cannot (the transport of last resort), an open connection that is slow to say its first
	 * word is a slow server, not a broken path: the manager waits for it instead of restarting.
	 */
	canFallBackFrom(name: TransportName): boolean;
	/** While on a fallback: the preferred transport to try in the background, else null. */
	probeTarget(current: TransportName): TransportFactory | null;
	/** A background probe of `name` worked: prefer it again. */
	restore(name: TransportName): void;
}

/** The first supported factory, always: for tests and single-transport setups. */
export function firstSupported(factories: TransportFactory[]): TransportPolicy {
	return {
		next: () => factories.find((f) => f.supported()),
		report: () => {},
		canFallBackFrom: () => false,
		probeTarget: () => null,
		restore: () => {}
	};
}

export interface FallbackPolicyOptions {
	websocket: TransportFactory;
	sse: TransportFactory;
	/** Use only this transport (the `?transport=` query parameter), for debugging and tests. */
	forced?: TransportName | null;
	/** Where the choice is remembered for the tab's session (sessionStorage); null to not remember. */
	storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null;
	/**
	 * WebSocket failures in a row before falling back, once WebSocket has worked in this tab (a
	 * server restart looks like a failure too). Before it ever worked, one failure is enough: a
	 * proxy that strips the upgrade fails every time, and the person is waiting.
	 */
	failuresAfterSuccess?: number;
}

export const TRANSPORT_STORAGE_KEY = 'runwatch.transport';

/**
 * WebSocket first; Server-Sent Events when the upgrade fails, when the socket opens but stays
 * silent, or after repeated failures. The fallback is remembered for the tab's session, and
 * WebSocket is probed in the background to switch back when it works again.
 */
export function fallbackPolicy(options: FallbackPolicyOptions): TransportPolicy {
	const { websocket, sse, storage = null } = options;
	const forced = options.forced ?? null;
	const failuresAfterSuccess = options.failuresAfterSuccess ?? 3;
	const byName = (name: TransportName) => (name === 'websocket' ? websocket : sse);
	let useSse = !websocket.supported() || storage?.getItem(TRANSPORT_STORAGE_KEY) === 'sse';
	let wsFailures = 0;
	let wsWorked = false;

	function fallBack(): void {
		if (!sse.supported()) return;
		useSse = true;
		wsFailures = 0;
		storage?.setItem(TRANSPORT_STORAGE_KEY, 'sse');
	}

	return {
		next() {
			if (forced) return byName(forced).supported() ? byName(forced) : undefined;
			return useSse ? sse : websocket;
		},
		report(name, outcome) {
			if (forced || name !== 'websocket') return;
			if (outcome === 'healthy') {
				wsFailures = 0;
				wsWorked = true;
			} else if (outcome === 'silent') {
				fallBack();
			} else if (++wsFailures >= (wsWorked ? failuresAfterSuccess : 1)) {
				fallBack();
			}
		},
		canFallBackFrom(name) {
			return !forced && name === 'websocket' && sse.supported();
		},
		probeTarget(current) {
			if (forced || current !== 'sse' || !websocket.supported()) return null;
			return websocket;
		},
		restore(name) {
			if (forced || name !== 'websocket') return;
			useSse = false;
			wsFailures = 0;
			wsWorked = true;
			storage?.removeItem(TRANSPORT_STORAGE_KEY);
		}
	};
}

/** `?transport=websocket|sse` on the page URL, or null. */
export function forcedTransport(search: string): TransportName | null {
	const value = new URLSearchParams(search).get('transport');
	return value === 'websocket' || value === 'sse' ? value : null;
}
