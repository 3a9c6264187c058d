import { redirect } from '@sveltejs/kit';
import { SESSION_COOKIE } from '$lib/server/access/credentials';
import type { RequestHandler } from './$types';

/**
 * Sign-out (a form POST; the hook refuses one from another origin): the session ends in the
 * store, so the cookie is worthless wherever it was copied, and every live connection it opened
 * is closed with 4403 at once.
 */
export const POST: RequestHandler = async ({ locals, cookies }) => {
	const { access } = locals.runwatch;
	const sessionId = await access.sessions?.signOut(cookies.get(SESSION_COOKIE));
	// Told through the bus: the connections it opened may be on any node.
	if (sessionId) locals.runwatch.news.sessionEnded(sessionId);
	cookies.delete(SESSION_COOKIE, { path: '/' });
	redirect(303, '/login');
};
