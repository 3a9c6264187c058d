import { apiRoute } from '$lib/server/http/route';
import { streamExecution } from '$lib/server/sse/execution-stream';

export const GET = apiRoute((runtime, { request, url, params }) => streamExecution(runtime, request, url, params.id!));
