/**
 * Where to sign in again and come back to `url` afterwards: `/login?next=<path and query>`. A
 * share link's `?token=` is left out: the token must not travel further in URLs.
 */
export function loginHref(url: Pick<URL, 'pathname' | 'search' | 'hash'>): string {
	const query = new URLSearchParams(url.search);
	query.delete('token');
	const search = query.toString();
	const next = `${url.pathname}${search ? `?${search}` : ''}${url.hash}`;
	return `/login?next=${encodeURIComponent(next)}`;
}
