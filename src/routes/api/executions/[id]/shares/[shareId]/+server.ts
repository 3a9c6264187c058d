import { revokeShare } from '$lib/server/http/api';
import { apiRoute } from '$lib/server/http/route';

export const DELETE = apiRoute((runtime, { request, params }) => revokeShare(runtime, request, params.id!, params.shareId!));
