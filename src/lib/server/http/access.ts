import { timingSafeEqual } from 'node:crypto';
import type { RunwatchConfig } from '../config.js';

/** Where a request's credentials can be. WebSocket upgrades and SvelteKit requests both fit. */
export interface RequestCredentials {
	authorization?: string | null;
	cookie?: string | null;
	/** `?token=` on the URL: for EventSource and WebSocket, which cannot set headers. */
	queryToken?: string | null;
}

export const VIEWER_COOKIE = 'runwatch_viewer';

/** The credentials of a Fetch API request (SvelteKit endpoints and page loads). */
export function credentialsOf(request: Request, url: URL): RequestCredentials {
	return {
		authorization: request.headers.get('authorization'),
		cookie: request.headers.get('cookie'),
		queryToken: url.searchParams.get('token')
	};
}

/** The credentials of a Node request (the WebSocket upgrade and the ingest fast path). */
export function credentialsOfNode(request: { url?: string; headers: { authorization?: string; cookie?: string } }): RequestCredentials {
	return {
		authorization: request.headers.authorization,
		cookie: request.headers.cookie,
		queryToken: new URL(request.url ?? '/', 'http://localhost').searchParams.get('token')
	};
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);

export function isLoopbackHost(host: string): boolean {
	return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function safeEqual(a: string, b: string): boolean {
	const x = Buffer.from(a);
	const y = Buffer.from(b);
	return x.length === y.length && timingSafeEqual(x, y);
}

function bearer(authorization: string | null | undefined): string | undefined {
	const match = /^Bearer\s+(.+)$/i.exec(authorization?.trim() ?? '');
	return match?.[1]?.trim();
}

function cookieValue(cookie: string | null | undefined, name: string): string | undefined {
	for (const part of (cookie ?? '').split(';')) {
		const eq = part.indexOf('=');
		if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
	}
	return undefined;
}

/**
 * The access rules, in one place, used by page loads, the JSON API, SSE and the WebSocket
 * upgrade alike.
 */
export class Access {
	readonly #ingestToken: string;
	readonly #viewerToken: string | undefined;
	/** Viewing needs no credentials: loopback-bound and no viewer token configured. */
	readonly viewingIsOpen: boolean;

	constructor(config: Pick<RunwatchConfig, 'ingestToken' | 'host'> & { viewerToken?: string }) {
		this.#ingestToken = config.ingestToken;
		this.#viewerToken = config.viewerToken;
		this.viewingIsOpen = !config.viewerToken && isLoopbackHost(config.host);
	}

	/** Ingest always needs the token: a page on another origin must not forge events. */
	canIngest(credentials: RequestCredentials): boolean {
		const token = bearer(credentials.authorization);
		return token !== undefined && safeEqual(token, this.#ingestToken);
	}

	canView(credentials: RequestCredentials): boolean {
		if (this.viewingIsOpen) return true;
		// Whoever may write may read.
		if (this.canIngest(credentials)) return true;
		return this.#holdsViewerToken(credentials);
	}

	/**
	 * Changing an execution (cancel, delete): the ingest token, a signed-in viewer, or, on an
	 * open loopback server, a page of this server (`fromSameOriginPage`: the browser said so in
	 * `Origin`, which a page elsewhere cannot forge). A share link never may.
	 */
	canWrite(credentials: RequestCredentials, fromSameOriginPage: boolean): boolean {
		if (this.canIngest(credentials)) return true;
		if (this.viewingIsOpen) return fromSameOriginPage;
		return this.#holdsViewerToken(credentials);
	}

	/** Whether a viewer with these credentials gets the write controls (Cancel, Delete) on a page. */
	viewerMayWrite(credentials: RequestCredentials): boolean {
		return this.viewingIsOpen || this.canIngest(credentials) || this.#holdsViewerToken(credentials);
	}

	#holdsViewerToken(credentials: RequestCredentials): boolean {
		if (!this.#viewerToken) return false;
		const presented =
			bearer(credentials.authorization) ?? cookieValue(credentials.cookie, VIEWER_COOKIE) ?? credentials.queryToken;
		return presented != null && safeEqual(presented, this.#viewerToken);
	}
}

/** A browser request from a page of this server: an `Origin` header that matches (absent does not count). */
export function isSameOriginPage(origin: string | null | undefined, host: string | null | undefined, configuredOrigin?: string): boolean {
	return !!origin && isSameOrigin(origin, host ?? undefined, configuredOrigin);
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
