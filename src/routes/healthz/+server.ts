import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';

/** `GET /healthz`: 200 while the process runs (liveness; it checks nothing else on purpose). */
export const GET: RequestHandler = () => json({ status: 'ok' }, { headers: { 'cache-control': 'no-store' } });
