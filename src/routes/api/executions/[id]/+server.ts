import { deleteExecution, getExecution } from '$lib/server/http/api';
import { apiRoute } from '$lib/server/http/route';

export const GET = apiRoute((runtime, { request, url, params }) => getExecution(runtime, request, url, params.id!));
export const DELETE = apiRoute((runtime, { request, url, params }) => deleteExecution(runtime, request, url, params.id!));
