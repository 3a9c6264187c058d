import type { IncomingMessage } from 'node:http';

export interface ClientAddressOptions {
	/**
	 * The header a trusted proxy puts the client's address in (adapter-node's `ADDRESS_HEADER`,
	 * e.g. `x-forwarded-for`), lower case. Unset: the socket's peer address, and forwarded
	 * headers are ignored (anyone can send them).
	 */
	addressHeader?: string;
	/** How many trusted proxies append to `X-Forwarded-For` (adapter-node's `XFF_DEPTH`, default 1). */
	xffDepth: number;
}

/**
 * The client's address, by the rule adapter-node's `getClientAddress` follows (same settings),
 * so that the WebSocket upgrade, which SvelteKit never sees, counts the same address as the
 * SSE routes. With `X-Forwarded-For`, the entry `xffDepth` from the right is taken: those are
 * the ones the trusted proxies appended; anything further left the client could have made up.
 * A configured header that is absent falls back to the socket's address.
 */
export function clientAddressOfNode(request: Pick<IncomingMessage, 'headers' | 'socket'>, options: ClientAddressOptions): string {
	const header = options.addressHeader;
	if (header) {
		const raw = request.headers[header];
		const value = Array.isArray(raw) ? raw.join(',') : raw;
		if (value) {
			if (header !== 'x-forwarded-for') return value.trim();
			const addresses = value.split(',');
			const picked = addresses[Math.max(0, addresses.length - options.xffDepth)]?.trim();
			if (picked) return picked;
		}
	}
	return request.socket?.remoteAddress ?? 'unknown';
}
