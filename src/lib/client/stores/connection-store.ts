import { readable, type Readable } from 'svelte/store';
import { browser } from '$app/environment';
import { Connection, type ConnectionStatus } from '../connection.js';
import { fallbackPolicy, forcedTransport } from '../transport/select.js';
import { sseUrl } from '../transport/sse.js';
import { createSharedSseTransportFactory } from '../transport/sse-shared.js';
import { checkServer } from '../transport/server-check.js';
import { createWebSocketTransportFactory } from '../transport/websocket.js';

let shared: Connection | undefined;

/**
 * The page's one connection, created on first use in the browser. Creating it opens nothing;
 * the first store that follows an execution does.
 */
export function sharedConnection(): Connection {
	if (!browser) throw new Error('sharedConnection() runs in the browser only; stores skip it during SSR');
	if (!shared) {
		const websocket = createWebSocketTransportFactory();
		const sse = createSharedSseTransportFactory();
		let storage: Storage | null = null;
		try {
			storage = window.sessionStorage;
		} catch {
			// storage disabled (privacy settings): the choice is not remembered, nothing else changes
		}
		shared = new Connection({
			transports: [websocket, sse],
			policy: fallbackPolicy({ websocket, sse, storage, forced: forcedTransport(location.search) }),
			// After a failed WebSocket attempt: does the server answer plain HTTP (a proxy blocks
			// WebSocket), not at all (it is restarting), or 401/403 (this viewer may not view)?
			checkServer: () => checkServer(sseUrl(location))
		});
	}
	return shared;
}

/** What the server renders: the page is about to connect. */
const INITIAL_STATUS: ConnectionStatus = { state: 'connecting', transport: null, nextRetryAt: null, reason: null };

/** A store of one connection's status (state, transport, next retry). */
export function createConnectionStore(connection: () => Connection | undefined): Readable<ConnectionStatus> {
	return readable(INITIAL_STATUS, (set) => {
		const target = connection();
		if (!target) return;
		set(target.status);
		return target.onStatus(set);
	});
}

/** Status of the shared connection; stays `connecting` during SSR. Following it opens nothing. */
export const connectionStore: Readable<ConnectionStatus> = createConnectionStore(() =>
	browser ? sharedConnection() : undefined
);

/** For the Reconnect button. */
export function reconnectNow(): void {
	if (browser) sharedConnection().reconnectNow();
}
