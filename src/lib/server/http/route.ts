import type { IncomingMessage } from 'node:http';
import type { RequestEvent, RequestHandler } from '@sveltejs/kit';
import { errorResponse } from '../errors.js';
import type { Runtime } from '../runtime.js';

/** Wraps an API handler so that anything it throws becomes the JSON error shape. */
export function apiRoute<Params extends Partial<Record<string, string>>>(
	handler: (runtime: Runtime, event: RequestEvent<Params>) => Promise<Response>
): RequestHandler<Params> {
	return async (event) => {
		try {
			return await handler(event.locals.runwatch, event);
		} catch (error) {
			return errorResponse(error);
		}
	};
}

/**
 * The client's address for a SvelteKit request, by the same rule as the WebSocket upgrade:
 * adapter-node hands us its Node request (`platform.req`); `vite dev` has none and its own
 * `getClientAddress` is the socket's peer.
 */
export function clientAddressOf(event: Pick<RequestEvent, 'locals' | 'platform' | 'getClientAddress'>): string {
	const request = (event.platform as { req?: IncomingMessage } | undefined)?.req;
	return request ? event.locals.runwatch.clientAddress(request) : event.getClientAddress();
}
