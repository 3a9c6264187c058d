// The security headers on every response of the Node server: SvelteKit's answers, static files
// and the Node-level paths (ingest, OTLP, SSE) alike, added where the head is written.
//
// Why in `writeHead` and not `setHeader` on each request: a header set with `setHeader` lives in
// a per-response table of its own (an object and an array per header) for as long as the
// response does, and an idle SSE viewer's response lives for hours. The Node-level paths pass
// their headers to `writeHead` in one object, which Node turns into the head's text and keeps
// nothing else of; with the security headers merged into that object, an idle SSE viewer holds
// about 1 KiB less (`npm run bench -- --scenario memory`).
import http from 'node:http';

/**
 * A `ServerResponse` class whose `writeHead` adds `headers` (lower-case names) to every head,
 * except those the response already has: set with `setHeader` (SvelteKit sets all of its own
 * so, a page's Content-Security-Policy with its nonces among them) or passed to `writeHead`.
 *
 * @param {Readonly<Record<string, string>>} headers
 */
export function responseWithHeaders(headers) {
	const entries = Object.entries(headers);
	return class SecureResponse extends http.ServerResponse {
		/**
		 * @param {number} statusCode
		 * @param {string | http.OutgoingHttpHeaders | http.OutgoingHttpHeader[]} [reason]
		 * @param {http.OutgoingHttpHeaders | http.OutgoingHttpHeader[]} [given]
		 */
		writeHead(statusCode, reason, given) {
			if (typeof reason !== 'string') {
				given = reason;
				reason = undefined;
			}
			// Node's raw form ([name, value, name, value …]) is rare: set what it lacks and pass it on.
			if (Array.isArray(given)) {
				const named = new Set();
				for (let i = 0; i < given.length; i += 2) named.add(String(given[i]).toLowerCase());
				for (const [name, value] of entries) if (!named.has(name) && !this.hasHeader(name)) this.setHeader(name, value);
				return reason === undefined ? super.writeHead(statusCode, given) : super.writeHead(statusCode, reason, given);
			}
			/** @type {http.OutgoingHttpHeaders} */
			const all = {};
			for (const [name, value] of entries) if (!this.hasHeader(name)) all[name] = value;
			if (given) for (const name of Object.keys(given)) {
				const lower = name.toLowerCase();
				if (lower !== name) delete all[lower];
				all[name] = given[name];
			}
			return reason === undefined ? super.writeHead(statusCode, all) : super.writeHead(statusCode, reason, all);
		}
	};
}
