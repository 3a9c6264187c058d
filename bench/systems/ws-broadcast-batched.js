// Baseline system: the ws-broadcast server sending one `events` frame per POST (the framing
// Runwatch's hub uses), so the gap to Runwatch is the cost of storage, validation and SvelteKit.
// Not in the default set: `npm run bench -- --systems runwatch,ws-broadcast,ws-broadcast-batched`.
import { startWsBroadcast } from './ws-broadcast.js';

export default {
	name: 'ws-broadcast-batched',
	label: 'ws broadcast (batched per POST)',
	kind: 'ws',
	storage: false,
	description: 'plain `ws` server, in-memory seq, one frame per POST batch',
	optional: true,
	start: (options) => startWsBroadcast({ ...options, framing: 'batch' })
};
