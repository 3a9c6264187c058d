import { apiRoute } from '$lib/server/http/route';
import { openSessionStream } from '$lib/server/sse/session-stream';

export const GET = apiRoute((runtime, { request }) => openSessionStream(runtime, request));
