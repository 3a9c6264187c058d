import { apiRoute, clientAddressOf } from '$lib/server/http/route';
import { streamExecution } from '$lib/server/sse/execution-stream';

export const GET = apiRoute((runtime, event) =>
	streamExecution(runtime, event.request, event.url, event.params.id!, clientAddressOf(event))
);
