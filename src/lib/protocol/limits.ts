/**
 * Every limit Runwatch enforces, in one place. Each is documented in docs/protocol.md and
 * covered by a test; change them together.
 */

/** Longest execution or event id. Ids end up in URLs and log lines; 64 is plenty for a UUID or ULID. */
export const MAX_ID_LENGTH = 64;

/**
 * Largest single event, measured as its JSON. Agents stream output in chunks; a chunk larger
 * than this belongs in an artifact store, not in a live timeline every viewer downloads.
 */
export const MAX_EVENT_BYTES = 256 * 1024;

/**
 * Deepest nesting of arrays and objects in a request body. Serialising, storing and rendering
 * JSON recurse; a few thousand levels (a 20 KB body) overflow the stack. Real tool outputs are
 * nowhere near this deep.
 */
export const MAX_JSON_DEPTH = 64;

/** Most events in one POST. Keeps one write transaction (and the lock it holds) short. */
export const MAX_BATCH_EVENTS = 1000;

/**
 * Largest request body on the ingest API. A full batch of typical events (a few hundred bytes
 * each) fits with room to spare; a batch of maximum-size events does not, on purpose.
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Most events one read returns (`GET .../events?limit=`, one replay page). */
export const MAX_EVENTS_PAGE = 1000;

/** Default page size for `GET .../events` when `limit` is absent. */
export const DEFAULT_EVENTS_PAGE = 1000;

/** Most executions one list call returns. */
export const MAX_LIST_LIMIT = 200;

/** Default page size for `GET /api/executions`. */
export const DEFAULT_LIST_LIMIT = 50;

/** Newest events embedded in `GET /api/executions/:id` and in the server-rendered page. */
export const EXECUTION_TAIL_EVENTS = 1000;

/**
 * Largest frame a browser may send over the WebSocket. Client frames are subscribe, unsubscribe
 * and ping: tiny. Anything bigger is abuse and closes the socket with 1009.
 */
export const WS_MAX_PAYLOAD_BYTES = 16 * 1024;

/** Executions one WebSocket connection may follow at once (a dashboard list page needs a few dozen). */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 256;

/**
 * Bytes the server lets pile up in one socket's send buffer before it stops pushing live events
 * to it. A slow viewer then catches up from storage once it drains, so it costs no memory and
 * loses nothing, and it cannot slow anyone else down.
 */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * Default events per second one ingest token may send (`RUNWATCH_INGEST_RATE`; `off` disables
 * it). A token bucket refills at this rate and holds `INGEST_BURST_SECONDS` of it. The default
 * is above what one node can store (about 77,000 events/s in batches on the benchmark machine),
 * so out of the box it never refuses a well-behaved agent; it is there to be lowered when several
 * teams or a runaway agent share a server, and so that the refusal path always runs.
 */
export const DEFAULT_INGEST_RATE = 100_000;

/**
 * Seconds of the ingest rate a token may send at once (the bucket's size). Agents send in
 * bursts (a tool returns, a flush at exit); two seconds absorbs them without letting a loop
 * run far past the rate.
 */
export const INGEST_BURST_SECONDS = 2;

/**
 * Default live streams (WebSocket connections and SSE streams together) one client address
 * may hold open (`RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS`). All tabs of a browser share one SSE
 * stream through a Web Lock leader and a WebSocket each, so a person needs a handful; an office
 * behind one NAT address needs more, hence 64. Each costs a socket and a session on the server,
 * which is what one address must not be able to exhaust.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 64;

/** Events per frame when replaying from storage (one page read, one frame sent). */
export const REPLAY_PAGE_EVENTS = 1000;

/**
 * Shortest time between two live frames of one execution on one node. An event after a quiet
 * spell goes out on the next tick; while events keep coming, what arrives within this interval
 * of the last frame goes out together in the next one. Viewers then get at most 50 frames a
 * second per execution (a screen shows 60), and a node's cost per viewer stops growing with the
 * event rate: each frame is one write per connection, the largest cost of fan-out.
 */
export const LIVE_FRAME_INTERVAL_MS = 20;

/** Server → client ping interval; a connection that misses one whole interval is terminated. */
export const WS_PING_INTERVAL_MS = 30_000;

/** Most metadata tags on an execution, and the longest key and value. */
export const MAX_METADATA_ENTRIES = 64;
export const MAX_METADATA_KEY_LENGTH = 128;
export const MAX_METADATA_VALUE_LENGTH = 1024;

/** Longest reason a viewer may give when cancelling: a sentence, shown in the header and timeline. */
export const MAX_CANCEL_REASON_LENGTH = 500;

/**
 * Longest an agent's `GET .../cancel?wait=` long-poll is held open. Under the idle timeouts of
 * common proxies (nginx 60 s), and short enough that a client re-asks often after a lost answer.
 */
export const MAX_CANCEL_WAIT_SECONDS = 25;

/**
 * How long a sign-in lasts. A week: people keep a dashboard open across days; signing out (or
 * changing RUNWATCH_VIEWER_TOKEN) ends a session sooner.
 */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

/**
 * How often live connections are checked for an expired session or share. Half of the 2 s in
 * which the contract promises expiry takes effect.
 */
export const ACCESS_SWEEP_MS = 1000;

/** Shortest and longest life of a share link (`expiresInSeconds`); absent means until revoked. */
export const MIN_SHARE_SECONDS = 1;
export const MAX_SHARE_SECONDS = 365 * 24 * 3600;

/**
 * Failed sign-ins one client address may make per window before it must wait: enough for typos,
 * far too few to guess a token.
 */
export const MAX_FAILED_SIGN_INS = 5;
export const SIGN_IN_WINDOW_MS = 60_000;

/**
 * Largest `costUsd` one usage report may carry: far above any real model call. Totals are summed
 * in micro-dollars; a cost near Number.MAX_VALUE overflowed them to Infinity, which JSON writes as
 * null, and the execution no longer passed its own schema (the list could not load it).
 */
export const MAX_EVENT_COST_USD = 1_000_000;

/** Longest free-text name (agent, department, event type, step name). */
export const MAX_NAME_LENGTH = 200;

/**
 * SSE heartbeat comment interval. Well under the idle timeouts proxies commonly apply (nginx's
 * proxy_read_timeout defaults to 60 s and is often lowered to 10–30 s), cheap at thousands of
 * streams, and it lets a client notice a dead stream within two intervals.
 */
export const SSE_HEARTBEAT_MS = 5_000;

/** The `retry:` hint sent to EventSource: how soon to reconnect after a stream ends. */
export const SSE_RETRY_MS = 1_000;

/**
 * Largest OTLP request body (`POST /v1/traces`), counted on the wire and again after gzip is
 * undone, so a small gzip bomb is refused (413) once it inflates past this, never held whole.
 * Twice the event API's body: an SDK's batch processor sends up to 512 spans per request, and
 * GenAI spans carry prompts and completions as attributes (at most MAX_OTLP_STRING_CHARS each
 * are kept). The OpenTelemetry Collector's default is 20 MiB; its users batch more per request.
 */
export const MAX_OTLP_BODY_BYTES = 8 * 1024 * 1024;

/**
 * Longest string attribute value kept from a span (longer ones are cut, and say so). Keeps a
 * step with one huge prompt well under MAX_EVENT_BYTES along with its other attributes; the
 * timeline shows a prompt, it is not an archive of it.
 */
export const MAX_OTLP_STRING_CHARS = 32 * 1024;

/**
 * Connections one node keeps open to PostgreSQL (`DATABASE_URL`). Appends to one execution wait
 * for each other on its row anyway; ten lets ten executions write at once per node while three
 * nodes stay well inside PostgreSQL's default of 100 connections.
 */
export const PG_POOL_MAX = 10;

/**
 * Seconds to wait for a PostgreSQL connection before giving up: at startup (which then stops,
 * naming DATABASE_URL) and during a request (answered 503 `unavailable` with `Retry-After`).
 */
export const PG_CONNECT_TIMEOUT_SECONDS = 10;

/**
 * How often a node on a shared bus (Redis) compares the last seq stored for each execution it
 * follows with what it has delivered, and catches up from the store where it is behind. Redis
 * pub/sub delivers at most once: a message lost while the connection looked healthy is healed
 * within this long, even when nothing more is ever published. On reconnect every followed
 * execution is checked at once; this is the backstop. One query per BUS_HEAL_BATCH_IDS followed
 * executions. On PostgreSQL without Redis it is the only way news travels between nodes.
 */
export const BUS_HEAL_INTERVAL_MS = 3_000;

/**
 * Followed executions read per store query in a heal pass (`Store.getExecutions`): a node
 * following thousands of executions makes a few short queries every heal interval, not one per
 * execution, and no single query holds a pooled connection long.
 */
export const BUS_HEAL_BATCH_IDS = 1_000;

/**
 * Largest run of events carried inline in one bus message. A bigger batch is announced by its
 * last seq only, and the other nodes read it from the store (one read there beats every node
 * parsing megabytes from Redis, and keeps one message from stalling the shared channel).
 */
export const BUS_MAX_INLINE_BYTES = 512 * 1024;

/**
 * How long a node waits for the node holding a dashboard SSE session to confirm a forwarded
 * `POST /api/sse/:sessionId`. No answer means that node is gone: the POST answers 404, and the
 * client opens a new stream (on a node that is alive).
 */
export const SSE_FORWARD_TIMEOUT_MS = 3_000;

/** Longest a `/readyz` check waits for the store or the bus before calling it down. */
export const READY_CHECK_TIMEOUT_MS = 2_000;

/** Words of a search query that count (`GET .../events/search`); the rest are ignored. Nobody types more. */
export const MAX_SEARCH_WORDS = 16;

/** Most matches one search within an execution returns, and the default. */
export const MAX_SEARCH_PAGE = 500;
export const DEFAULT_SEARCH_PAGE = 200;

/** Agent names the list's agent filter offers (`GET /api/agents`): more than anyone scrolls through. */
export const MAX_AGENT_NAMES = 500;

/**
 * Executions not yet ended that the totals above the list follow live (`GET /api/usage`'s
 * `open`); past it, the oldest running ones keep the share they had when the page loaded.
 */
export const MAX_OPEN_EXECUTIONS = 1000;
