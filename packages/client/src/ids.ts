import { randomBytes } from 'node:crypto';

/** What the server accepts as an execution, event or step id. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A random 128-bit id, base64url (22 characters): an execution id nobody else will pick. */
export function randomId(): string {
	return randomBytes(16).toString('base64url');
}

/** The random part of a sender's event ids: 48 bits, base64url (8 characters). */
export function idPrefix(): string {
	return randomBytes(6).toString('base64url');
}

/**
 * Event ids for one sender: a random 48-bit prefix and a counter (`Xk3_a9Qz-0`, `Xk3_a9Qz-1`,
 * …). Unique per execution without a random draw per event, and the same id goes out again on a
 * retry, so the server stores each event once.
 */
export function createIdSequence(prefix: string = idPrefix()): () => string {
	let next = 0;
	return () => `${prefix}-${(next++).toString(36)}`;
}
