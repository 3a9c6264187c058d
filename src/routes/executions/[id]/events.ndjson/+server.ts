import { error } from '@sveltejs/kit';
import { idSchema } from '$lib/protocol/events';
import { MAX_EVENTS_PAGE } from '$lib/protocol/limits';
import { principalOf } from '$lib/server/access/request-access';
import type { RequestHandler } from './$types';

/**
 * "Download NDJSON": every event of the execution, one JSON object per line, read from storage
 * one page at a time and streamed, so a 100,000-event execution starts downloading at once and
 * never sits whole in memory on either side. Ends at the execution's last seq when the download
 * started; the same view rule as the page.
 */
export const GET: RequestHandler = async ({ locals, params, request }) => {
	const runtime = locals.runwatch;
	const principal = locals.principal ?? (await principalOf(runtime.access, request));
	if (!runtime.access.mayView(principal, params.id)) {
		error(principal.kind === 'anonymous' ? 401 : 403, {
			message: 'Sign in or open a share link to download this execution',
			code: principal.kind === 'anonymous' ? 'unauthorized' : 'forbidden'
		});
	}
	const id = idSchema.safeParse(params.id);
	const execution = id.success ? await runtime.store.getExecution(id.data) : undefined;
	if (!id.success || !execution) error(404, { message: `No execution "${params.id}"`, code: 'not_found' });

	const encoder = new TextEncoder();
	const end = execution.lastSeq;
	let since = 0;
	const body = new ReadableStream<Uint8Array>({
		async pull(controller) {
			const page = since < end ? await runtime.store.readEventsJson(execution.id, since, MAX_EVENTS_PAGE) : [];
			const lines = page.filter((row) => row.seq <= end);
			if (lines.length === 0) {
				controller.close();
				return;
			}
			since = lines[lines.length - 1]!.seq;
			controller.enqueue(encoder.encode(lines.map((row) => row.json).join('\n') + '\n'));
		}
	});
	return new Response(body, {
		headers: {
			'content-type': 'application/x-ndjson; charset=utf-8',
			'content-disposition': `attachment; filename="${execution.id}.ndjson"`,
			'cache-control': 'no-store',
			'x-content-type-options': 'nosniff'
		}
	});
};
