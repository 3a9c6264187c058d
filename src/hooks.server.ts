import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { getRuntime } from '$lib/server/runtime';
import { secureResponse } from '$lib/server/http/security-headers';

/** Creates the runtime (store, hub, WebSocket server) once, at startup rather than on first request. */
export const init: ServerInit = () => {
	getRuntime();
};

const FORM_TYPES = /^(application\/x-www-form-urlencoded|multipart\/form-data|text\/plain)/i;

export const handle: Handle = async ({ event, resolve }) => {
	event.locals.runwatch = getRuntime();
	// nosniff, Referrer-Policy, and frame-ancestors added to the page's CSP (server/index.js sets
	// the same for what never reaches SvelteKit: the ingest fast path and static files).
	return secureResponse(await answer({ event, resolve }), event.locals.runwatch.config.frameAncestors);
};

const answer: Handle = async ({ event, resolve }) => {
	// SvelteKit's own cross-site form check is off (svelte.config.js) so that the API can answer
	// in JSON; pages still refuse form posts from another origin.
	const { request, url } = event;
	if (
		request.method === 'POST' &&
		!url.pathname.startsWith('/api/') &&
		FORM_TYPES.test(request.headers.get('content-type') ?? '') &&
		request.headers.get('origin') !== url.origin
	) {
		return new Response('Cross-site form submissions are forbidden', { status: 403 });
	}
	const response = await resolve(event);
	// SvelteKit answers some /api failures itself (405 for a method a route lacks, 403 for a
	// cross-site form post) as text. The API promises JSON errors, so rewrap them here.
	if (
		event.url.pathname.startsWith('/api/') &&
		response.status >= 400 &&
		!response.headers.get('content-type')?.includes('application/json')
	) {
		const code = response.status === 405 ? 'method_not_allowed' : response.status === 403 ? 'forbidden' : 'bad_request';
		const text = (await response.text()).trim();
		// SvelteKit's own error pages are HTML; a JSON client wants one line.
		const message = text && !text.startsWith('<') ? text : response.statusText || `HTTP ${response.status}`;
		return new Response(JSON.stringify({ error: { code, message } }), {
			status: response.status,
			headers: { 'content-type': 'application/json', ...(response.headers.get('allow') ? { allow: response.headers.get('allow')! } : {}) }
		});
	}
	return response;
};

export const handleError: HandleServerError = ({ error, status, message }) => {
	if (status >= 500) console.error('[runwatch] unhandled error:', error);
	return { message };
};
