import { apiRoute } from '$lib/server/http/route';
import { openSessionStream } from '$lib/server/sse/session-stream';

export const GET = apiRoute(async (runtime, { request, url }) => openSessionStream(runtime, request, url));
