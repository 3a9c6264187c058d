import { apiRoute } from '$lib/server/http/route';
import { postSessionMessages } from '$lib/server/sse/session-stream';

export const POST = apiRoute((runtime, { request, url, params }) =>
	postSessionMessages(runtime, request, url, params.sessionId!)
);
