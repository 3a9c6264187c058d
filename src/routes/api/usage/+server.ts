import { getUsage } from '$lib/server/http/api';
import { apiRoute } from '$lib/server/http/route';

export const GET = apiRoute((runtime, { request, url }) => getUsage(runtime, request, url));
