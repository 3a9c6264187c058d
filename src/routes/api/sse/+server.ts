import { apiRoute, clientAddressOf } from '$lib/server/http/route';
import { openSessionStream } from '$lib/server/sse/session-stream';

export const GET = apiRoute((runtime, event) => openSessionStream(runtime, event.request, clientAddressOf(event)));
