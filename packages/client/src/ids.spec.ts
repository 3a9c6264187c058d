import { expect, test } from 'vitest';
import { createIdSequence, ID_PATTERN, randomId } from './ids.js';

test('random execution ids: 128 bits in base64url, valid on the server, distinct', () => {
	const ids = new Set(Array.from({ length: 1000 }, randomId));
	expect(ids.size).toBe(1000);
	for (const id of ids) {
		expect(id).toMatch(ID_PATTERN);
		expect(Buffer.from(id, 'base64url')).toHaveLength(16);
	}
});

test('event ids: a random prefix and a counter, distinct, valid, short', () => {
	const next = createIdSequence();
	const other = createIdSequence();
	const ids = Array.from({ length: 100_000 }, next);
	expect(new Set(ids).size).toBe(ids.length);
	expect(ids.at(-1)!.length).toBeLessThanOrEqual(64);
	for (const id of [...ids.slice(0, 50), ids.at(-1)!]) expect(id).toMatch(ID_PATTERN);
	expect(other()).not.toBe(ids[0]);
	expect(createIdSequence('p')()).toBe('p-0');
});
