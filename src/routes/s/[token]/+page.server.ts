import { error, redirect } from '@sveltejs/kit';
import { SHARE_COOKIE_PREFIX } from '$lib/server/access/credentials';
import type { PageServerLoad } from './$types';

/**
 * Opening a share link: a cookie for that one share, then the execution's page, so that the
 * token leaves the address bar, history and `Referer`.
 */
export const load: PageServerLoad = async ({ locals, params, cookies, url, setHeaders }) => {
	setHeaders({ 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' });
	const share = await locals.runwatch.access.shares.resolve(params.token);
	if (!share) error(404, { message: 'This share link has expired, was revoked, or never existed', code: 'not_found' });
	cookies.set(`${SHARE_COOKIE_PREFIX}${share.id}`, params.token, {
		path: '/',
		httpOnly: true,
		sameSite: 'lax',
		secure: url.protocol === 'https:',
		...(share.expiresAt ? { expires: new Date(share.expiresAt) } : { maxAge: 400 * 24 * 3600 })
	});
	redirect(303, `/executions/${encodeURIComponent(share.executionId)}`);
};
