import { listAgents } from '$lib/server/http/api';
import { apiRoute } from '$lib/server/http/route';

export const GET = apiRoute((runtime, { request }) => listAgents(runtime, request));
