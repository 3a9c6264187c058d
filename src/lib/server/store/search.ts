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
