import { json } from '@sveltejs/kit';
import { readiness } from '$lib/server/http/health';
import type { RequestHandler } from './$types';

/** `GET /readyz`: 200 when the store and the bus answer and viewers are accepted; else 503 naming what is down. */
export const GET: RequestHandler = async ({ locals }) => {
	const { status, body } = await readiness(locals.runwatch);
	return json(body, { status, headers: { 'cache-control': 'no-store' } });
};
