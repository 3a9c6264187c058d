import { MAX_SEARCH_WORDS } from '../../protocol/limits.js';

/**
 * The words of a search query, as every store reads them (see `Store.searchEvents`): runs of
 * letters, digits and combining marks, lower-cased. Everything else only separates words, so a
 * query can never be an operator of the store's search syntax.
 */
export function searchWords(query: string): string[] {
	return (query.toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) ?? []).slice(0, MAX_SEARCH_WORDS);
}

/** An FTS5 query: every word, each as a prefix (`"inv"* "2044"*`: implicit AND). */
export function fts5Query(words: readonly string[]): string {
	return words.map((word) => `"${word.replaceAll('"', '""')}"*`).join(' ');
}

/** Lower-cased, accents removed (é → e), as FTS5's unicode61 tokenizer folds them. */
function fold(text: string): string {
	return text.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase();
}

/** The words of an event's text: every string and number in its JSON, never a key. */
function textWords(value: unknown, into: Set<string>): void {
	if (typeof value === 'string' || typeof value === 'number') {
		for (const word of fold(String(value)).match(/[\p{L}\p{N}]+/gu) ?? []) into.add(word);
	} else if (Array.isArray(value)) {
		for (const item of value) textWords(item, into);
	} else if (value !== null && typeof value === 'object') {
		for (const item of Object.values(value)) textWords(item, into);
	}
}

/**
 * `Store.searchEvents`'s rule in JavaScript, for stores without an index that gives it (the
 * PostgreSQL store scans an execution's events with it): every query word starts a word of the
 * event's text, any case, accents ignored.
 */
export function eventMatcher(words: readonly string[]): (event: unknown) => boolean {
	const wanted = words.map(fold).flatMap((word) => word.match(/[\p{L}\p{N}]+/gu) ?? []);
	return (event) => {
		if (wanted.length === 0) return false;
		const have = new Set<string>();
		textWords(event, have);
		return wanted.every((prefix) => {
			for (const word of have) if (word.startsWith(prefix)) return true;
			return false;
		});
	};
}
