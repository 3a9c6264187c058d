import { RunwatchError } from '$lib/server/errors';
import { apiRoute } from '$lib/server/http/route';

/** Unknown /api paths answer in the API's JSON error shape, whatever the method. */
export const fallback = apiRoute(async (_runtime, { url, request }) => {
	throw new RunwatchError('not_found', `No API endpoint ${request.method} ${url.pathname}`);
});
