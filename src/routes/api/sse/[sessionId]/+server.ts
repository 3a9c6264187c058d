import { apiRoute } from '$lib/server/http/route';
import { postSessionMessages } from '$lib/server/sse/session-stream';

export const POST = apiRoute((runtime, { request, params }) => postSessionMessages(runtime, request, params.sessionId!));
