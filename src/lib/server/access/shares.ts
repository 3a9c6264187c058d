import { randomBytes } from 'node:crypto';
import type { ShareRecord, Store } from '../store/store.js';
import { hashToken, randomToken } from './credentials.js';

/** Share tokens start with this, so that a leaked one is recognisable (and not a viewer token). */
export const SHARE_TOKEN_PREFIX = 'rws_';

/** A share that grants viewing now: not revoked, not expired. */
export function isShareActive(share: ShareRecord, now = Date.now()): boolean {
	return !share.revokedAt && (share.expiresAt === undefined || Date.parse(share.expiresAt) > now);
}

/**
 * Share links: one execution, read-only, revocable. The token (256 random bits) is shown once,
 * in the URL handed out; the store keeps its hash.
 */
export class Shares {
	readonly #store: Pick<Store, 'createShare' | 'findShareByTokenHash' | 'listShares' | 'revokeShare' | 'getShare'>;

	constructor(store: Pick<Store, 'createShare' | 'findShareByTokenHash' | 'listShares' | 'revokeShare' | 'getShare'>) {
		this.#store = store;
	}

	async create(executionId: string, expiresInSeconds: number | undefined, now = Date.now()): Promise<{ share: ShareRecord; token: string }> {
		const token = randomToken(SHARE_TOKEN_PREFIX);
		const share: ShareRecord = {
			id: randomBytes(9).toString('base64url'),
			executionId,
			createdAt: new Date(now).toISOString()
		};
		if (expiresInSeconds !== undefined) share.expiresAt = new Date(now + expiresInSeconds * 1000).toISOString();
		await this.#store.createShare({ ...share, tokenHash: hashToken(token) });
		return { share, token };
	}

	/** The active share a token opens, or undefined (unknown, revoked or expired alike). */
	async resolve(token: string, now = Date.now()): Promise<ShareRecord | undefined> {
		if (!token.startsWith(SHARE_TOKEN_PREFIX) || token.length > 100) return undefined;
		const share = await this.#store.findShareByTokenHash(hashToken(token));
		return share && isShareActive(share, now) ? share : undefined;
	}

	list(executionId: string): Promise<ShareRecord[]> {
		return this.#store.listShares(executionId);
	}

	revoke(executionId: string, shareId: string, now = Date.now()): Promise<boolean> {
		return this.#store.revokeShare(executionId, shareId, new Date(now).toISOString());
	}
}
