/**
 * The server's base URL. CommonJS (like `cli-args.cts`) so that the `runwatch` command's
 * CommonJS entry can use it before any ES module loads; the ES modules import it too.
 */

/** Where the client sends when neither the `url` option nor `RUNWATCH_URL` says. */
export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** `url` without a trailing slash; throws a TypeError when it is not an http(s) URL. */
export function normaliseBaseUrl(url: string): string {
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		throw new TypeError(`Runwatch URL "${url}" is not a URL; expected e.g. http://127.0.0.1:3000`);
	}
	if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
		throw new TypeError(`Runwatch URL "${url}" must start with http:// or https://`);
	}
	return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}
