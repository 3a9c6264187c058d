import { searchEvents } from '$lib/server/http/api';
import { apiRoute } from '$lib/server/http/route';

export const GET = apiRoute((runtime, { request, url, params }) => searchEvents(runtime, request, url, params.id!));
