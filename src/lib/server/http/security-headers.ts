/**
 * Headers every response carries, pages, JSON, streams and the ingest fast path alike. The
 * pages' own Content-Security-Policy (scripts by nonce or hash, no inline script) comes from
 * SvelteKit (`kit.csp` in svelte.config.js); `frame-ancestors` is added here at run time
 * because it is configured per deployment (`RUNWATCH_FRAME_ANCESTORS`), not per build.
 */

/**
 * Same-origin requests keep the full Referer (our own logs), other sites get none: a URL that
 * holds a share token or `?token=` never leaves through a link or a subresource.
 */
export const REFERRER_POLICY = 'same-origin';

/** Who may frame the pages by default: nobody (no clickjacking through an invisible frame). */
export const DEFAULT_FRAME_ANCESTORS = "'none'";

/**
 * The policy for everything that is not a SvelteKit page (JSON, SSE, NDJSON, static files): it
 * may not run or load anything, nor be framed. A JSON answer opened in a tab stays inert.
 */
function fallbackPolicy(frameAncestors: string): string {
	return `default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors ${frameAncestors}`;
}

/** The headers for every response, given the parsed `frame-ancestors` source list. */
export function securityHeaders(frameAncestors: string): Record<string, string> {
	return {
		'x-content-type-options': 'nosniff',
		'referrer-policy': REFERRER_POLICY,
		'content-security-policy': fallbackPolicy(frameAncestors)
	};
}

/**
 * Puts the security headers on a response built by SvelteKit: a page keeps SvelteKit's policy
 * (with its nonces) and gains `frame-ancestors`; anything else gets the fallback policy. A
 * Referrer-Policy the route set itself is kept.
 * Returns the response to send (a copy when its headers could not be changed).
 */
export function secureResponse(response: Response, frameAncestors: string): Response {
	let target = response;
	try {
		apply(target.headers, frameAncestors);
	} catch {
		// Immutable headers (e.g. `Response.redirect`): copy, then set.
		target = new Response(response.body, response);
		apply(target.headers, frameAncestors);
	}
	return target;
}

function apply(headers: Headers, frameAncestors: string): void {
	const page = headers.get('content-security-policy');
	const base = securityHeaders(frameAncestors);
	headers.set('x-content-type-options', base['x-content-type-options']!);
	// A route may ask for less (the share-link redirect sends `no-referrer`); never for more.
	if (!headers.has('referrer-policy')) headers.set('referrer-policy', base['referrer-policy']!);
	if (!page) headers.set('content-security-policy', base['content-security-policy']!);
	else if (!/(^|;)\s*frame-ancestors\s/.test(page)) headers.set('content-security-policy', `${page}; frame-ancestors ${frameAncestors}`);
}

const ORIGIN = /^https?:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:(\d{1,5}|\*))?$/i;

/**
 * Parses `RUNWATCH_FRAME_ANCESTORS` into a CSP source list: `'none'` (default), `'self'`, or
 * origins (`https://wiki.example.com`, `https://*.example.com`, `http://localhost:8080`)
 * separated by spaces or commas. `self` and `none` may come without their quotes (a shell eats
 * them). Throws a sentence naming the variable for anything else: a stray `;` would otherwise
 * smuggle in directives of its own.
 */
export function parseFrameAncestors(raw: string | undefined): string {
	const value = raw?.trim();
	if (!value) return DEFAULT_FRAME_ANCESTORS;
	const sources: string[] = [];
	for (const token of value.split(/[\s,]+/).filter(Boolean)) {
		const bare = token.replace(/^'(.*)'$/, '$1').toLowerCase();
		if (bare === 'none' || bare === 'self') sources.push(`'${bare}'`);
		else if (ORIGIN.test(token.replace(/\/$/, ''))) sources.push(token.replace(/\/$/, '').toLowerCase());
		else throw badFrameAncestors(raw!, `"${token}" is not an origin`);
	}
	if (sources.includes("'none'") && sources.length > 1) throw badFrameAncestors(raw!, "'none' cannot be combined with other sources");
	return [...new Set(sources)].join(' ');
}

function badFrameAncestors(raw: string, why: string): Error {
	return new Error(
		`RUNWATCH_FRAME_ANCESTORS must be 'none' (the default), 'self', or origins separated by spaces such as https://wiki.example.com; got "${raw}" (${why})`
	);
}
