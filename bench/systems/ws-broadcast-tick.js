// Floor system: the plain `ws` broadcast loop, batching per 10 ms tick: events are collected per
// execution and sent as one `events` frame every 10 ms, serialised once for every subscriber.
import { startWsBroadcast } from './ws-broadcast.js';

export default {
	name: 'ws-broadcast-tick',
	label: 'ws broadcast (batched per 10 ms)',
	kind: 'ws',
	storage: false,
	description: 'plain `ws` server, in-memory seq, one frame per 10 ms tick (batched floor)',
	start: (options) => startWsBroadcast({ ...options, framing: 'tick' })
};
