import { loadConfig, type RunwatchConfig } from './config.js';
import { RunwatchError } from './errors.js';
import { Access } from './access/access.js';
import { Hub } from './hub/hub.js';
import type { ViewerSession } from './session/viewer-session.js';
import type { SseStream } from './sse/sse-stream.js';
import { createStore } from './store/create.js';
import type { Store } from './store/store.js';
import { WsServer } from './ws/ws-server.js';
import { tryFastIngest } from './http/fast-ingest.js';
import { refuseHugeBody } from './http/body.js';
import { tryFastTraces } from './otlp/export.js';
import { tryNodeSse } from './sse/node-stream.js';
import { Ingest } from './ingest/ingest.js';
import { Retention } from './retention/retention.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BUS_HEAL_INTERVAL_MS, INGEST_BURST_SECONDS } from '../protocol/limits.js';
import { clientAddressOfNode } from './http/client-address.js';
import { securityHeaders } from './http/security-headers.js';
import { ConnectionLimiter } from './limits/connection-limiter.js';
import { RateLimiter } from './limits/rate-limiter.js';
import { LocalBus, type Bus } from './bus/bus.js';
import { describeRedisUrl } from './bus/redis-url.js';
import { deliverNews, News } from './bus/news.js';
import { Healer } from './bus/healer.js';
import { SseRelay } from './sse/relay.js';

/**
 * Everything with a lifetime, created once per process. SvelteKit's server bundle, the
 * production Node entry (`server/index.js`) and the Vite dev plugin all reach the same instance
 * through a global symbol, because they load the code through different module graphs.
 */
export interface Runtime {
	readonly config: RunwatchConfig;
	readonly store: Store;
	readonly hub: Hub;
	/** Carries news between nodes (in-process without REDIS_URL); the hub and access listen to it. */
	readonly bus: Bus;
	/** Where committed news is told: every node's viewers hear it, this one's included. */
	readonly news: News;
	readonly access: Access;
	/** The one way events get in (routes, the fast path, cancel, OTLP). */
	readonly ingest: Ingest;
	/** Deletes executions past `RUNWATCH_RETENTION_DAYS` and gives disk space back, in the background. */
	readonly retention: Retention;
	readonly ws: WsServer;
	/** Live streams (WebSocket and SSE) per client address. */
	readonly connections: ConnectionLimiter;
	/** The client's address of a Node request (the socket's, or a trusted proxy's header). */
	clientAddress(request: Pick<IncomingMessage, 'headers' | 'socket'>): string;
	/** Headers for every response (nosniff, Referrer-Policy, the non-page CSP with frame-ancestors). */
	readonly securityHeaders: Readonly<Record<string, string>>;
	/** Open SSE responses, ended on shutdown so that clients move on at once. */
	readonly sseStreams: Set<SseStream>;
	/** The dashboard's SSE sessions by id, for `POST /api/sse/:sessionId`. */
	readonly sseSessions: Map<string, ViewerSession>;
	/** Delivers `POST /api/sse/:sessionId` here or to the node holding the stream. */
	readonly sseRelay: SseRelay;
	/** True once shutdown has begun (`/readyz` answers 503). */
	readonly draining: boolean;
	/** Throws `shutting_down` once shutdown has begun (new streams would only be cut again). */
	assertAcceptingViewers(): void;
	/**
	 * Takes `POST /api/executions/:id/events`, `POST /v1/traces` and the SSE streams before
	 * SvelteKit (the Node entry calls it for every request); false for anything else.
	 */
	handleFastPath(request: IncomingMessage, response: ServerResponse): boolean;
	/** Lines to print once the server listens on `url`. */
	banner(url: string): string;
	/** Stops taking work, finishes in-flight ingest, closes viewers with 1001, closes the store. */
	shutdown(): Promise<void>;
}

const KEY = Symbol.for('runwatch.runtime');
const PENDING = Symbol.for('runwatch.runtime.pending');
type Holder = { [KEY]?: Runtime; [PENDING]?: Promise<Runtime> };

/**
 * The process's runtime, created on first call (the store connects and migrates first, hence
 * async). Once resolved it is also under the global symbol, where the Node entry finds it.
 */
export function getRuntime(): Promise<Runtime> {
	const holder = globalThis as Holder;
	if (holder[KEY]) return Promise.resolve(holder[KEY]);
	holder[PENDING] ??= createRuntime(loadConfig()).then(
		(runtime) => (holder[KEY] = runtime),
		(error: unknown) => {
			holder[PENDING] = undefined; // a later call may try again (dev server after a fix)
			throw error;
		}
	);
	return holder[PENDING];
}

/** The runtime if one was created (the Node entry asks before SvelteKit has loaded). */
export function peekRuntime(): Runtime | undefined {
	return (globalThis as Holder)[KEY];
}

export async function createRuntime(config: RunwatchConfig): Promise<Runtime> {
	const store = await createStore(config);
	const hub = new Hub({ store });
	const access = new Access({ ingestToken: config.ingestToken, host: config.host, viewerToken: config.viewerToken, store });
	// The Redis client is loaded only when it is asked for: a single node starts without it.
	const bus: Bus = config.redisUrl
		? new (await import('./bus/redis-bus.js')).RedisBus({ url: config.redisUrl, prefix: config.redisPrefix, follows: (id) => hub.follows(id) }).start()
		: new LocalBus();
	const news = new News(bus);
	const stopNews = deliverNews(bus, { hub, access });
	const healer = new Healer({ bus, hub, store, access });
	healer.start();
	if (store.kind === 'postgres' && !config.redisUrl) {
		// Several nodes on one database still see each other's news, through the healer only.
		console.error(
			`[runwatch] DATABASE_URL without REDIS_URL: other nodes' events reach this node's viewers within ${BUS_HEAL_INTERVAL_MS / 1000} s (read from the store), not at once, and a dashboard SSE session's POSTs must reach the node that holds it; set REDIS_URL for several nodes behind a balancer`
		);
	}
	const sseSessions = new Map<string, ViewerSession>();
	const sseRelay = new SseRelay(bus, sseSessions);
	const connections = new ConnectionLimiter(config.maxConnectionsPerAddress);
	const clientAddress = (request: Pick<IncomingMessage, 'headers' | 'socket'>) => clientAddressOfNode(request, config);
	const ws = new WsServer({ hub, store, access, origin: config.origin, connections, clientAddress });

	const sseStreams = new Set<SseStream>();
	let inFlight = 0;
	let draining = false;
	let idle: (() => void) | undefined;
	let shutdownPromise: Promise<void> | undefined;

	/** Marks one write in flight until the returned function is called; refused while draining. */
	const admit = () => {
		if (draining) throw new RunwatchError('shutting_down', 'Server is shutting down; retry against another node or in a moment');
		inFlight++;
		let done = false;
		return () => {
			if (done) return;
			done = true;
			if (--inFlight === 0) idle?.();
		};
	};
	const rateLimiter = config.ingestRate
		? new RateLimiter({ ratePerSecond: config.ingestRate, burst: config.ingestRate * INGEST_BURST_SECONDS })
		: undefined;
	const ingest = new Ingest({ store, publisher: news, access, admit, rateLimiter });
	const retention = new Retention({ store, publisher: news, days: config.retentionDays });
	retention.start();

	const runtime: Runtime = {
		config,
		store,
		hub,
		bus,
		news,
		access,
		ingest,
		retention,
		ws,
		connections,
		clientAddress,
		securityHeaders: Object.freeze(securityHeaders(config.frameAncestors)),
		sseStreams,
		sseSessions,
		sseRelay,
		get draining() {
			return draining;
		},
		handleFastPath(request, response) {
			return (
				refuseHugeBody(request, response) ||
				(config.ingestFastPath &&
				(tryFastIngest(ingest, request, response) || tryFastTraces(ingest, request, response) || tryNodeSse(runtime, request, response)))
			);
		},
		assertAcceptingViewers() {
			if (draining) throw new RunwatchError('shutting_down', 'Server is shutting down; reconnect in a moment');
		},
		banner(url) {
			return banner(config, url);
		},
		shutdown() {
			shutdownPromise ??= (async () => {
				draining = true;
				await retention.stop(); // between two chunks: at most one short transaction to wait for
				if (inFlight > 0) {
					await Promise.race([
						new Promise<void>((resolve) => (idle = resolve)),
						new Promise((resolve) => setTimeout(resolve, 10_000).unref())
					]);
				}
				// The dashboard's streams are told why, so they reconnect at once, like a WebSocket
				// closed with 1001.
				const farewell = { type: 'error', code: 'shutting_down', message: 'Server is restarting; reconnect now' };
				for (const stream of sseStreams) stream.close(farewell);
				await ws.close();
				healer.stop();
				stopNews();
				sseRelay.close();
				hub.close();
				access.close();
				await bus.close();
				await store.close();
			})();
			return shutdownPromise;
		}
	};
	return runtime;
}

/** What the server prints once it listens at `url`: where, how to send a first run, how to sign in. */
function banner(config: RunwatchConfig, url: string): string {
	const token = config.ingestTokenGenerated
		? `Ingest token (generated, kept in ${config.ingestTokenFile}):\n  ${config.ingestToken}`
		: config.ingestTokenFile
			? `Ingest token: in ${config.ingestTokenFile}`
			: 'Ingest token: from RUNWATCH_INGEST_TOKEN';
	const auth = config.ingestTokenGenerated
		? config.ingestToken
		: config.ingestTokenFile
			? `$(cat ${config.ingestTokenFile})`
			: '$RUNWATCH_INGEST_TOKEN';
	const viewing = !config.viewerToken
		? []
		: config.viewerTokenGenerated
			? [`Viewers sign in at ${url}/login with this token (generated, kept in ${config.viewerTokenFile}):`, `  ${config.viewerToken}`]
			: [`Viewers sign in at ${url}/login with the viewer token (${config.viewerTokenFile ? `in ${config.viewerTokenFile}` : 'RUNWATCH_VIEWER_TOKEN'}).`];
	const post = (path: string, body: string) =>
		`  curl -s -X POST ${url}${path} -H "Authorization: Bearer ${auth}" -H "Content-Type: application/json" -d '${body}'`;
	return [
		`Runwatch is live at ${url}  (storage: ${storageName(config)}${config.redisUrl ? `; news between nodes: Redis at ${describeRedisUrl(config.redisUrl)}` : ''})`,
		...viewing,
		token,
		'Send a first execution:',
		post('/api/executions', '{"id":"hello","agent":{"name":"my-agent"}}'),
		post('/api/executions/hello/events', '{"events":[{"type":"output","data":{"text":"Hello, Runwatch\\n"}},{"type":"agent-complete"}]}'),
		`  then open ${url}/executions/hello  (or run the demo agent: npm run demo)`
	].join('\n');
}

/** Where the data lives, for the banner: never the database URL itself (it may hold a password). */
function storageName(config: RunwatchConfig): string {
	if (!config.databaseUrl) return `SQLite in ${config.dataDir}`;
	try {
		const url = new URL(config.databaseUrl);
		return `PostgreSQL at ${url.hostname}${url.port ? ':' + url.port : ''}${url.pathname}`;
	} catch {
		return 'PostgreSQL';
	}
}
