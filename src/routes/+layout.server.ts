import type { LayoutServerLoad } from './$types';

/**
 * What every page needs to know about who is looking (sign-out, a share link's read-only view),
 * and the one setting pages derive state from: how long a quiet execution takes to show as stalled.
 */
export const load: LayoutServerLoad = ({ locals }) => {
	const principal = locals.principal;
	return {
		signedIn: principal?.kind === 'viewer' && principal.sessionId !== undefined,
		shared: principal?.kind === 'shares',
		stallSeconds: locals.runwatch.config.stallSeconds
	};
};
