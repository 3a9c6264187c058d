import { apiRoute, clientAddressOf } from '$lib/server/http/route';
import { openSessionStream } from '$lib/server/sse/session-stream';

export const GET = apiRoute(async (runtime, event) => openSessionStream(runtime, event.request, event.url, clientAddressOf(event)));
