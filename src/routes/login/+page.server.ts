import { fail, redirect } from '@sveltejs/kit';
import { SESSION_COOKIE } from '$lib/server/access/credentials';
import { SignInLimiter } from '$lib/server/access/sign-in-limiter';
import type { Actions, PageServerLoad } from './$types';

/** One per process: failed sign-ins are counted per client address. */
const limiter = new SignInLimiter();

/** Where to go after signing in: a path on this site, never another origin (`//evil`, `https:`…). */
function nextPath(url: URL): string {
	const next = url.searchParams.get('next') ?? '/';
	return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

export const load: PageServerLoad = ({ locals, url }) => {
	const principal = locals.principal;
	// Nothing to sign in to (an open local server), or already signed in.
	if (principal && principal.kind !== 'anonymous' && principal.kind !== 'shares') redirect(303, nextPath(url));
	return { next: nextPath(url), canSignIn: !!locals.runwatch.access.sessions };
};

export const actions: Actions = {
	default: async ({ locals, request, url, cookies, getClientAddress, setHeaders }) => {
		const { access } = locals.runwatch;
		const address = getClientAddress();
		const wait = limiter.retryAfterSeconds(address);
		if (wait > 0) {
			setHeaders({ 'retry-after': String(wait) });
			return fail(429, { message: `Too many failed attempts; try again in ${wait} s.` });
		}
		const form = await request.formData();
		const token = String(form.get('token') ?? '').trim();
		if (!access.sessions || !access.isViewerToken(token)) {
			limiter.recordFailure(address);
			return fail(401, { message: 'That is not the viewer token.' });
		}
		const { cookieValue, expiresAt } = await access.sessions.signIn();
		cookies.set(SESSION_COOKIE, cookieValue, {
			path: '/',
			httpOnly: true,
			sameSite: 'lax',
			secure: url.protocol === 'https:',
			expires: new Date(expiresAt)
		});
		redirect(303, nextPath(url));
	}
};
