import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { redirect } from '@sveltejs/kit';
import { SESSION_COOKIE } from '$lib/server/access/credentials';
import { principalOf } from '$lib/server/access/request-access';
import { getRuntime } from '$lib/server/runtime';
import { secureResponse } from '$lib/server/http/security-headers';

/** Creates the runtime (store, hub, WebSocket server) once, at startup rather than on first request. */
export const init: ServerInit = async () => {
	await getRuntime();
};

/** `/healthz` and `/readyz`, for load balancers and orchestrators. */
const HEALTH_CHECKS = new Set(['/healthz', '/readyz']);

const FORM_TYPES = /^(application\/x-www-form-urlencoded|multipart\/form-data|text\/plain)/i;

/** Pages anyone may open: signing in, opening a share link, the app's own files. */
const PUBLIC_PAGES = /^\/(login|logout|s\/|_app\/|favicon)/;

/**
 * Pages: who is asking, and if nobody, the sign-in page. A viewer token in the address (an old
 * bookmark, a link someone pasted) signs in once and is dropped from the address, so that it
 * stays out of history, logs and `Referer`.
 */
async function guardPage(event: Parameters<Handle>[0]['event']): Promise<void> {
	const { runwatch: runtime } = event.locals;
	const { url, request } = event;
	const token = url.searchParams.get('token');
	if (token !== null && request.method === 'GET') {
		const clean = new URL(url);
		clean.searchParams.delete('token');
		if (runtime.access.isViewerToken(token) && runtime.access.sessions) {
			const { cookieValue, expiresAt } = await runtime.access.sessions.signIn();
			event.cookies.set(SESSION_COOKIE, cookieValue, {
				path: '/',
				httpOnly: true,
				sameSite: 'lax',
				secure: url.protocol === 'https:',
				expires: new Date(expiresAt)
			});
		}
		redirect(303, clean.pathname + clean.search);
	}
	const principal = await principalOf(runtime.access, request);
	event.locals.principal = principal;
	if (principal.kind === 'anonymous' && !PUBLIC_PAGES.test(url.pathname)) {
		redirect(303, `/login?next=${encodeURIComponent(url.pathname + url.search)}`);
	}
}

export const handle: Handle = async ({ event, resolve }) => {
	event.locals.runwatch = await getRuntime();
	// nosniff, Referrer-Policy, and frame-ancestors added to the page's CSP (server/index.js sets
	// the same for what never reaches SvelteKit: the ingest fast path, static files, and
	// redirects thrown from here).
	return secureResponse(await answer({ event, resolve }), event.locals.runwatch.config.frameAncestors);
};

const answer: Handle = async ({ event, resolve }) => {
	// Health checks answer anyone, and never touch sign-in (which needs the store they check).
	if (HEALTH_CHECKS.has(event.url.pathname)) return resolve(event);
	const isApi = event.url.pathname.startsWith('/api/') || event.url.pathname.startsWith('/v1/');
	if (!isApi && !event.url.pathname.startsWith('/_app/')) await guardPage(event);
	// SvelteKit's own cross-site form check is off (svelte.config.js) so that the API can answer
	// in JSON; pages still refuse form posts from another origin. The API and OTLP (`/v1/`) take
	// a bearer token, which a form cannot send, and answer a wrong content type with 415.
	const { request, url } = event;
	if (
		request.method === 'POST' &&
		!url.pathname.startsWith('/api/') &&
		!url.pathname.startsWith('/v1/') &&
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
