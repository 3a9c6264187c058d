import { createExecution, listExecutions } from '$lib/server/http/api';
import { apiRoute } from '$lib/server/http/route';

export const GET = apiRoute((runtime, { request, url }) => listExecutions(runtime, request, url));
export const POST = apiRoute((runtime, { request, url }) => createExecution(runtime, request, url));
