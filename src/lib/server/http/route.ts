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
