import type { LayoutServerLoad } from './$types';

/** What every page needs to know about who is looking: sign-out, and a share link's read-only view. */
export const load: LayoutServerLoad = ({ locals }) => {
	const principal = locals.principal;
	return {
		signedIn: principal?.kind === 'viewer' && principal.sessionId !== undefined,
		shared: principal?.kind === 'shares'
	};
};
