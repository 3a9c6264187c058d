import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * What a request carries that may grant access, however it arrived: a SvelteKit request, a
 * WebSocket upgrade, the Node fast path. Tokens never travel in URLs: `?token=` on a page only
 * signs the viewer in and is then dropped from the address (see `hooks.server.ts`).
 */
export interface RequestCredentials {
	authorization?: string | null;
	cookie?: string | null;
}

/** The sign-in session cookie (HttpOnly, SameSite=Lax; `viewer-sessions.ts`). */
export const SESSION_COOKIE = 'runwatch_session';
/** One cookie per opened share link: `runwatch_share_<shareId>=<token>`. */
export const SHARE_COOKIE_PREFIX = 'runwatch_share_';

/** The credentials of a Fetch API request (SvelteKit endpoints and page loads). */
export function credentialsOf(request: Request): RequestCredentials {
	return { authorization: request.headers.get('authorization'), cookie: request.headers.get('cookie') };
}

/** The credentials of a Node request (the WebSocket upgrade and the ingest fast path). */
export function credentialsOfNode(request: { headers: { authorization?: string; cookie?: string } }): RequestCredentials {
	return { authorization: request.headers.authorization, cookie: request.headers.cookie };
}

export function bearer(authorization: string | null | undefined): string | undefined {
	const match = /^Bearer\s+(.+)$/i.exec(authorization?.trim() ?? '');
	return match?.[1]?.trim() || undefined;
}

/** Every cookie as name → value (the first of a repeated name wins, as browsers send the most specific first). */
export function parseCookies(header: string | null | undefined): Map<string, string> {
	const cookies = new Map<string, string>();
	for (const part of (header ?? '').split(';')) {
		const eq = part.indexOf('=');
		if (eq <= 0) continue;
		const name = part.slice(0, eq).trim();
		if (!name || cookies.has(name)) continue;
		let value = part.slice(eq + 1).trim();
		try {
			value = decodeURIComponent(value);
		} catch {
			continue; // not a value we set
		}
		cookies.set(name, value);
	}
	return cookies;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);

export function isLoopbackHost(host: string): boolean {
	return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Is `origin` (a browser's Origin header) the same site as the request's Host, or the configured ORIGIN? */
export function isSameOrigin(origin: string | undefined, host: string | undefined, configuredOrigin?: string): boolean {
	if (!origin) return true; // not a browser: curl, agents, the Node test clients
	if (configuredOrigin && origin === configuredOrigin) return true;
	try {
		return new URL(origin).host === host;
	} catch {
		return false;
	}
}

/** A browser request from a page of this server: an `Origin` header that matches (absent does not count). */
export function isSameOriginPage(origin: string | null | undefined, host: string | null | undefined, configuredOrigin?: string): boolean {
	return !!origin && isSameOrigin(origin, host ?? undefined, configuredOrigin);
}

export function safeEqual(a: string, b: string): boolean {
	const x = Buffer.from(a);
	const y = Buffer.from(b);
	return x.length === y.length && timingSafeEqual(x, y);
}

/** A secret for a URL or a cookie: 256 random bits, URL-safe, with a prefix that says what it is. */
export function randomToken(prefix: string): string {
	return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** What the store keeps instead of a token: its SHA-256, hex. Tokens are random, so no salt is needed. */
export function hashToken(token: string): string {
	return createHash('sha256').update(token).digest('hex');
}
