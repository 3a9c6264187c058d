import { createHmac } from 'node:crypto';
import { SESSION_TTL_MS } from '../../protocol/limits.js';
import type { Store } from '../store/store.js';
import { hashToken, randomToken, safeEqual } from './credentials.js';

export interface VerifiedSession {
	/** The stored id: a hash of the token, never the token itself. */
	sessionId: string;
	expiresAt: number;
}

/**
 * Sign-in sessions. The cookie holds `<token>.<expiry>.<signature>`: the signature (HMAC keyed by
 * the viewer token, so changing that token signs everyone out) turns away forged or altered
 * cookies without a store read; the store's record (kept under a hash of the token) is what
 * sign-out deletes, so signing out ends the session everywhere it is used.
 */
export class ViewerSessions {
	readonly #store: Pick<Store, 'createViewerSession' | 'getViewerSession' | 'deleteViewerSession'>;
	readonly #key: Buffer;
	readonly #ttlMs: number;

	constructor(options: {
		store: Pick<Store, 'createViewerSession' | 'getViewerSession' | 'deleteViewerSession'>;
		viewerToken: string;
		ttlMs?: number;
	}) {
		this.#store = options.store;
		this.#key = createHmac('sha256', options.viewerToken).update('runwatch-session-v1').digest();
		this.#ttlMs = options.ttlMs ?? SESSION_TTL_MS;
	}

	async signIn(now = Date.now()): Promise<{ cookieValue: string; expiresAt: number; sessionId: string }> {
		const token = randomToken('');
		const expiresAt = now + this.#ttlMs;
		const sessionId = hashToken(token);
		await this.#store.createViewerSession({
			id: sessionId,
			createdAt: new Date(now).toISOString(),
			expiresAt: new Date(expiresAt).toISOString()
		});
		const signed = `${token}.${expiresAt}`;
		return { cookieValue: `${signed}.${this.#sign(signed)}`, expiresAt, sessionId };
	}

	/** The session behind a cookie value, if it is genuine, unexpired and not signed out. */
	async verify(cookieValue: string | undefined, now = Date.now()): Promise<VerifiedSession | undefined> {
		const parsed = this.#parse(cookieValue, now);
		if (!parsed) return undefined;
		const record = await this.#store.getViewerSession(parsed.sessionId);
		if (!record || Date.parse(record.expiresAt) <= now) return undefined;
		return parsed;
	}

	/** Ends the session; returns its id (for closing its live connections), if the cookie was genuine. */
	async signOut(cookieValue: string | undefined): Promise<string | undefined> {
		const parsed = this.#parse(cookieValue, 0);
		if (!parsed) return undefined;
		await this.#store.deleteViewerSession(parsed.sessionId);
		return parsed.sessionId;
	}

	#parse(cookieValue: string | undefined, now: number): VerifiedSession | undefined {
		const parts = cookieValue?.split('.');
		if (!parts || parts.length !== 3) return undefined;
		const [token, expiry, signature] = parts as [string, string, string];
		if (!/^\d{1,16}$/.test(expiry) || !safeEqual(signature, this.#sign(`${token}.${expiry}`))) return undefined;
		const expiresAt = Number(expiry);
		if (expiresAt <= now) return undefined;
		return { sessionId: hashToken(token), expiresAt };
	}

	#sign(text: string): string {
		return createHmac('sha256', this.#key).update(text).digest('base64url');
	}
}
