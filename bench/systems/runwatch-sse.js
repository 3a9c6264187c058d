// System under test: the same Runwatch build, viewed over Server-Sent Events: one
// `GET /api/executions/:id/stream` per subscriber (`id: <seq>` per event).
import { startRunwatch } from './runwatch.js';

export default {
	name: 'runwatch-sse',
	label: 'Runwatch (SSE)',
	kind: 'sse',
	storage: true,
	description: 'the built server, one per-execution SSE stream per subscriber',
	start: startRunwatch
};
