import { error, fail, redirect } from '@sveltejs/kit';
import { listQuerySchema } from '$lib/protocol/api';
import { demoSpeed, startDemoAgent } from '$lib/server/demo/demo-agent.js';
import { principalOf } from '$lib/server/access/request-access';
import { RunwatchError } from '$lib/server/errors';
import { readUsage, startOfUtcDay } from '$lib/server/http/api';
import { MAX_AGENT_NAMES } from '$lib/protocol/limits';
import type { Actions, PageServerLoad } from './$types';

/** The list's filters from the address bar; empty fields count as absent. */
function queryOf(url: URL): Record<string, string> {
	const query: Record<string, string> = {};
	for (const key of ['status', 'agent', 'department', 'q', 'cursor', 'limit']) {
		const value = url.searchParams.get(key)?.trim();
		if (value) query[key] = value;
	}
	return query;
}

export const load: PageServerLoad = async ({ locals, request, url }) => {
	const runtime = locals.runwatch;
	const principal = locals.principal ?? (await principalOf(runtime.access, request));
	if (!runtime.access.mayView(principal)) {
		error(principal.kind === 'shares' ? 403 : 401, {
			message:
				principal.kind === 'shares'
					? 'A share link shows one execution, not the list'
					: 'Sign in or open a share link to view executions',
			code: principal.kind === 'shares' ? 'forbidden' : 'unauthorized'
		});
	}
	const raw = queryOf(url);
	const parsed = listQuerySchema.safeParse(raw);
	// Only a loopback server with open viewing shows its token: whoever sees this page could
	// otherwise take it and write events.
	const open = runtime.access.viewingIsOpen;
	const common = {
		// Today's totals above the list (UTC day), and every agent name for the agent filter.
		usage: await readUsage(runtime, startOfUtcDay(new Date())),
		agentNames: await runtime.store.listAgentNames(MAX_AGENT_NAMES),
		origin: url.origin,
		ingestToken: open ? runtime.config.ingestToken : null,
		demoAvailable: open
	};
	if (!parsed.success) {
		const problem = parsed.error.issues[0];
		return {
			...common,
			executions: [],
			nextCursor: null,
			filters: raw,
			filtered: true,
			problem: `This filter is not valid (${problem?.path.join('.') || 'query'}: ${problem?.message ?? 'invalid'}). Clear the filters to see every execution.`
		};
	}
	try {
		const { executions, nextCursor } = await runtime.store.listExecutions(parsed.data);
		const { limit: _limit, ...filters } = parsed.data;
		const filtered = Object.keys(filters).length > 0;
		return { ...common, executions, nextCursor, filters: { ...filters, limit: parsed.data.limit }, filtered, problem: null };
	} catch (e) {
		// A cursor this server did not hand out (or from another database).
		if (e instanceof RunwatchError && e.code === 'invalid_query') {
			return { ...common, executions: [], nextCursor: null, filters: raw, filtered: true, problem: `${e.message}. Go back to the newest executions.` };
		}
		throw e;
	}
};

export const actions: Actions = {
	/** Starts the demo agent against this server's own API and opens its first execution. */
	demo: async ({ locals, url }) => {
		const runtime = locals.runwatch;
		// The demo writes with the ingest token; only where the token is shown anyway.
		if (!runtime.access.viewingIsOpen) return fail(403, { demoError: 'The demo agent runs only on a loopback server' });
		let firstId: string | undefined;
		try {
			const { executionIds, done } = await startDemoAgent({
				baseUrl: url.origin,
				token: runtime.config.ingestToken,
				speed: demoSpeed(process.env)
			});
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
