import { awaitCancel, requestCancel } from '$lib/server/http/api';
import { apiRoute } from '$lib/server/http/route';

export const GET = apiRoute((runtime, { request, url, params }) => awaitCancel(runtime, request, url, params.id!));
export const POST = apiRoute((runtime, { request, url, params }) => requestCancel(runtime, request, url, params.id!));
