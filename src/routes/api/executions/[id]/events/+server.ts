import { postEvents, readEvents } from '$lib/server/http/api';
import { apiRoute } from '$lib/server/http/route';

export const GET = apiRoute((runtime, { request, url, params }) => readEvents(runtime, request, url, params.id!));
export const POST = apiRoute((runtime, { request, url, params }) => postEvents(runtime, request, url, params.id!));
