// The V8 flags the production server runs with: `npm start` passes them (package.json), and so
// do `npm run cluster` and the benchmarks, which start `server/index.js` themselves.
//
// --max-semi-space-size=64 (MiB; Node 20's default is 16): ingest makes many short-lived objects
// per request (decoded bodies, events, their JSON), and with the default young generation a
// scavenge runs every few requests and copies what is still in flight. In the OTLP benchmark the
// garbage collector's share of the server's CPU fell from 16 % to 7.5 % with it. The space grows
// only under allocation pressure: an idle server's memory is unchanged (the memory benchmark).
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=64'];
