import { getExecution } from '$lib/server/http/api';
import { apiRoute } from '$lib/server/http/route';

export const GET = apiRoute((runtime, { request, url, params }) => getExecution(runtime, request, url, params.id!));
