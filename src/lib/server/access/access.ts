import { ACCESS_SWEEP_MS } from '../../protocol/limits.js';
import type { Store } from '../store/store.js';
import {
	bearer,
	isLoopbackHost,
	parseCookies,
	safeEqual,
	SESSION_COOKIE,
	SHARE_COOKIE_PREFIX,
	type RequestCredentials
} from './credentials.js';
import { Shares } from './shares.js';
import { ViewerSessions } from './viewer-sessions.js';

/** One execution a share link opens, until `expiresAt` (epoch ms) if it has one. */
export interface ShareGrant {
	shareId: string;
	executionId: string;
	expiresAt?: number;
}

/**
 * Who is asking, decided once per request or connection from its credentials:
 * - `ingest`: the ingest token (writes, and whoever may write may read);
 * - `viewer`: a signed-in viewer (session cookie) or the viewer token itself as a bearer;
 * - `open`: anyone, on a loopback server with no viewer token;
 * - `shares`: only the executions of the share links held;
 * - `anonymous`: nothing.
 */
export type Principal =
	| { kind: 'ingest' }
	| { kind: 'viewer'; sessionId?: string; expiresAt?: number }
	| { kind: 'open' }
	| { kind: 'shares'; grants: ShareGrant[] }
	| { kind: 'anonymous' };

export type ForbiddenReason = 'signed-out' | 'session-expired' | 'share-revoked' | 'share-expired';

interface Tracked {
	principal: Principal;
	onForbidden: (reason: ForbiddenReason) => void;
}

export interface AccessOptions {
	ingestToken: string;
	/** When set, viewers sign in with it (and viewing is never open). */
	viewerToken?: string;
	/** The bound host: viewing is open only on loopback with no viewer token. */
	host: string;
	store: Store;
	sweepMs?: number;
}

/**
 * Every access rule, in one place: page loads, the JSON API, NDJSON, SSE and the WebSocket all
 * ask here, and live connections register here so that signing out, a revoked share and an
 * expired one close them (4403 / SSE `forbidden`) from one place.
 */
export class Access {
	readonly #ingestToken: string;
	readonly #viewerToken: string | undefined;
	/** Viewing needs no credentials: loopback-bound and no viewer token configured. */
	readonly viewingIsOpen: boolean;
	/** Sign-in sessions; absent when there is no viewer token to sign in with. */
	readonly sessions: ViewerSessions | undefined;
	readonly shares: Shares;
	readonly #tracked = new Set<Tracked>();
	readonly #sweep: NodeJS.Timeout;
	readonly #store: Pick<Store, 'getViewerSession' | 'getShare'>;

	constructor(options: AccessOptions) {
		this.#ingestToken = options.ingestToken;
		this.#viewerToken = options.viewerToken;
		this.viewingIsOpen = !options.viewerToken && isLoopbackHost(options.host);
		this.sessions = options.viewerToken ? new ViewerSessions({ store: options.store, viewerToken: options.viewerToken }) : undefined;
		this.shares = new Shares(options.store);
		this.#store = options.store;
		// Expiry takes effect on live connections too, within one sweep.
		this.#sweep = setInterval(() => this.#expire(Date.now()), options.sweepMs ?? ACCESS_SWEEP_MS);
		this.#sweep.unref();
	}

	/** Ingest always needs the token: a page on another origin must not forge events. Synchronous: the hot path. */
	canIngest(credentials: RequestCredentials): boolean {
		const token = bearer(credentials.authorization);
		return token !== undefined && safeEqual(token, this.#ingestToken);
	}

	/** Whether `presented` is the viewer token (the sign-in form, `?token=` on a page). */
	isViewerToken(presented: string | undefined | null): boolean {
		return !!this.#viewerToken && !!presented && safeEqual(presented, this.#viewerToken);
	}

	async resolve(credentials: RequestCredentials, now = Date.now()): Promise<Principal> {
		const token = bearer(credentials.authorization);
		if (token !== undefined && safeEqual(token, this.#ingestToken)) return { kind: 'ingest' };
		if (this.isViewerToken(token)) return { kind: 'viewer' };
		const cookies = parseCookies(credentials.cookie);
		const session = await this.sessions?.verify(cookies.get(SESSION_COOKIE), now);
		if (session) return { kind: 'viewer', sessionId: session.sessionId, expiresAt: session.expiresAt };
		if (this.viewingIsOpen) return { kind: 'open' };

		const shareTokens = [...cookies].filter(([name]) => name.startsWith(SHARE_COOKIE_PREFIX)).map(([, value]) => value);
		if (token !== undefined) shareTokens.push(token);
		const grants: ShareGrant[] = [];
		// A person rarely holds more than a few; the cap keeps a cookie header from costing many reads.
		for (const shareToken of shareTokens.slice(0, 20)) {
			const share = await this.shares.resolve(shareToken, now);
			if (!share) continue;
			const grant: ShareGrant = { shareId: share.id, executionId: share.executionId };
			if (share.expiresAt) grant.expiresAt = Date.parse(share.expiresAt);
			grants.push(grant);
		}
		return grants.length > 0 ? { kind: 'shares', grants } : { kind: 'anonymous' };
	}

	/** May view this execution, or (without an id) the list and everything in it. */
	mayView(principal: Principal, executionId?: string): boolean {
		switch (principal.kind) {
			case 'ingest':
			case 'viewer':
			case 'open':
				return true;
			case 'shares':
				return executionId !== undefined && principal.grants.some((grant) => grant.executionId === executionId);
			case 'anonymous':
				return false;
		}
	}

	/**
	 * May write (cancel, share, delete): the ingest token, a signed-in viewer, or on an open
	 * loopback server a page of this server (`fromSameOriginPage`: the browser said so in
	 * `Origin`, which a page elsewhere cannot forge). A share link never may.
	 */
	mayWrite(principal: Principal, fromSameOriginPage: boolean): boolean {
		if (principal.kind === 'ingest' || principal.kind === 'viewer') return true;
		return principal.kind === 'open' && fromSameOriginPage;
	}

	/**
	 * Follows a live connection's right to view: `onForbidden` is called once, when the session
	 * behind it signs out or expires, or a share it holds is revoked or expires. Returns the
	 * function that stops following it (call it when the connection closes).
	 */
	track(principal: Principal, onForbidden: (reason: ForbiddenReason) => void): () => void {
		if (principal.kind !== 'viewer' && principal.kind !== 'shares') return () => {};
		if (principal.kind === 'viewer' && principal.sessionId === undefined) return () => {};
		const entry: Tracked = { principal, onForbidden };
		this.#tracked.add(entry);
		return () => this.#tracked.delete(entry);
	}

	/** A session signed out: every connection it opened loses access now. */
	sessionEnded(sessionId: string): void {
		this.#forbid((p) => p.kind === 'viewer' && p.sessionId === sessionId, 'signed-out');
	}

	/** A share was revoked: every connection that views through it loses access now. */
	shareRevoked(shareId: string): void {
		this.#forbid((p) => p.kind === 'shares' && p.grants.some((grant) => grant.shareId === shareId), 'share-revoked');
	}

	/**
	 * Checks every followed connection's right against the store: a sign-out or revocation whose
	 * news this node missed (the bus was down) takes effect now. Called when the bus comes back.
	 */
	async recheck(): Promise<void> {
		const ended = new Set<string>();
		const revoked = new Set<string>();
		for (const { principal } of [...this.#tracked]) {
			if (principal.kind === 'viewer' && principal.sessionId !== undefined && !ended.has(principal.sessionId)) {
				if (!(await this.#store.getViewerSession(principal.sessionId))) ended.add(principal.sessionId);
			} else if (principal.kind === 'shares') {
				for (const grant of principal.grants) {
					if (revoked.has(grant.shareId)) continue;
					if ((await this.#store.getShare(grant.shareId))?.revokedAt) revoked.add(grant.shareId);
				}
			}
		}
		for (const sessionId of ended) this.sessionEnded(sessionId);
		for (const shareId of revoked) this.shareRevoked(shareId);
	}

	close(): void {
		clearInterval(this.#sweep);
		this.#tracked.clear();
	}

	#expire(now: number): void {
		this.#forbid((p) => p.kind === 'viewer' && p.expiresAt !== undefined && p.expiresAt <= now, 'session-expired');
		this.#forbid(
			(p) => p.kind === 'shares' && p.grants.some((grant) => grant.expiresAt !== undefined && grant.expiresAt <= now),
			'share-expired'
		);
	}

	#forbid(matches: (principal: Principal) => boolean, reason: ForbiddenReason): void {
		for (const entry of [...this.#tracked]) {
			if (!matches(entry.principal)) continue;
			this.#tracked.delete(entry);
			entry.onForbidden(reason);
		}
	}
}

/** What a person is told when a live connection loses access. */
export function forbiddenMessage(reason: ForbiddenReason): string {
	switch (reason) {
		case 'signed-out':
			return 'You signed out; sign in again to keep watching';
		case 'session-expired':
			return 'Your session expired; sign in again to keep watching';
		case 'share-revoked':
			return 'This share link was revoked';
		case 'share-expired':
			return 'This share link has expired';
	}
}
