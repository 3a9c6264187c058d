import { createShare, listShares } from '$lib/server/http/api';
import { apiRoute } from '$lib/server/http/route';

export const GET = apiRoute((runtime, { request, url, params }) => listShares(runtime, request, url, params.id!));
export const POST = apiRoute((runtime, { request, url, params }) => createShare(runtime, request, url, params.id!));
