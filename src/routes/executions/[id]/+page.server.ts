import { error } from '@sveltejs/kit';
import { idSchema } from '$lib/protocol/events';
import { principalOf } from '$lib/server/access/request-access';
import type { PageServerLoad } from './$types';

/**
 * Events rendered into the page: the newest few screens. The HTML stays small and quick at any
 * size (the page never ships 100,000 events); the page fetches older ones as the person scrolls
 * back. Kept under the timeline's full-render limit, so a page without JavaScript shows them all.
 */
const SSR_WINDOW_EVENTS = 300;

/** Events at the start searched for the `agent-start` (a few logs may come before it). */
const AGENT_START_LOOKAHEAD = 20;

export const load: PageServerLoad = async ({ locals, params, request }) => {
	const runtime = locals.runwatch;
	// The same rule as the JSON API and the WebSocket upgrade.
	const principal = locals.principal ?? (await principalOf(runtime.access, request));
	// The same rule as the JSON API, SSE and the WebSocket.
	if (!runtime.access.mayView(principal, params.id)) {
		if (principal.kind === 'shares') error(403, { message: 'Your share link covers another execution, not this one', code: 'forbidden' });
		error(401, { message: 'Sign in or open a share link to view this execution', code: 'unauthorized' });
	}

	const id = idSchema.safeParse(params.id);
	if (!id.success) error(404, { message: `No execution "${params.id}"`, code: 'not_found' });
	const common = {
		id: id.data,
		// The page's own requests carry its Origin, which is what an open server asks of writes.
		canWrite: runtime.access.mayWrite(principal, true),
		shared: principal.kind === 'shares'
	};
	const execution = await runtime.store.getExecution(id.data);
	if (!execution) {
		// A share link's execution existed once: it was deleted, and will not come back.
		if (principal.kind === 'shares') error(404, { message: `No execution "${params.id}"`, code: 'not_found' });
		// Not created yet: agents print their link before their first request lands. The page waits
		// for it and reloads this data once it exists.
		return { ...common, execution: null, events: [], agentStart: undefined };
	}

	// Read after the execution row, so the tail covers at least its lastSeq; the page folds any
	// newer events in and goes live from the highest seq it holds.
	const events = await runtime.store.readTail(execution.id, SSR_WINDOW_EVENTS);
	// The header shows the agent's input: when its agent-start is older than the window, read it
	// from the first few events (agents send it first).
	const agentStart =
		events[0] && events[0].seq > 1
			? (await runtime.store.readEvents(execution.id, 0, AGENT_START_LOOKAHEAD)).find((event) => event.type === 'agent-start')
			: undefined;
	return { ...common, execution, events, agentStart };
};
