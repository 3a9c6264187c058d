import { apiRoute } from '$lib/server/http/route';

/** A plain GET here means the WebSocket upgrade never reached us (a proxy dropped the header). */
export const GET = apiRoute(async () =>
	Response.json(
		{ error: { code: 'upgrade_required', message: 'This endpoint speaks WebSocket only; connect with a WebSocket client' } },
		{ status: 426, headers: { upgrade: 'websocket' } }
	)
);
