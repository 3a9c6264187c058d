import { error, fail, redirect } from '@sveltejs/kit';
import { startDemoAgent } from '$lib/server/demo/demo-agent.js';
import { DEFAULT_LIST_LIMIT } from '$lib/protocol/limits';
import { credentialsOf } from '$lib/server/http/access';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, request, url }) => {
	const runtime = locals.runwatch;
	if (!runtime.access.canView(credentialsOf(request, url))) {
		error(401, { message: 'Sign in or open a share link to view executions', code: 'unauthorized' });
	}
	const { executions } = await runtime.store.listExecutions({ limit: DEFAULT_LIST_LIMIT });
	// Only a loopback server with open viewing shows its token: whoever sees this page could
	// otherwise take it and write events.
	const open = runtime.access.viewingIsOpen;
	return {
		executions,
		origin: url.origin,
		ingestToken: open ? runtime.config.ingestToken : null,
		demoAvailable: open
	};
};

export const actions: Actions = {
	/** Starts the demo agent against this server's own API and opens its first execution. */
	demo: async ({ locals, url }) => {
		const runtime = locals.runwatch;
		// The demo writes with the ingest token; only where the token is shown anyway.
		if (!runtime.access.viewingIsOpen) return fail(403, { demoError: 'The demo agent runs only on a loopback server' });
		let firstId: string | undefined;
		try {
			const { executionIds, done } = await startDemoAgent({ baseUrl: url.origin, token: runtime.config.ingestToken });
			// It streams on in the background; a failure there is the demo's own business.
			done.catch((e: unknown) => console.error('[runwatch] demo agent stopped:', e));
			firstId = executionIds[0];
		} catch (e) {
			return fail(502, { demoError: `The demo agent could not start: ${e instanceof Error ? e.message : String(e)}` });
		}
		if (!firstId) return fail(502, { demoError: 'The demo agent created no execution' });
		redirect(303, `/executions/${encodeURIComponent(firstId)}`);
	}
};
