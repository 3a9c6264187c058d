import { READY_CHECK_TIMEOUT_MS } from '../../protocol/limits.js';
import type { Bus } from '../bus/bus.js';
import type { Store } from '../store/store.js';

export interface ReadinessBody {
	status: 'ready' | 'unready' | 'draining';
	/** This process's id on the bus (it names the node in SSE session ids). */
	node: string;
	/** What is down; empty when ready. */
	down: ('store' | 'bus' | 'viewers')[];
	checks: {
		store: { kind: Store['kind']; ok: boolean; detail?: string };
		bus: { kind: Bus['kind']; ok: boolean; detail: string };
		/** False while draining: new viewers would only be cut again. */
		viewers: { ok: boolean; detail: string; live: number };
	};
}

function withTimeout(promise: Promise<void>, what: string): Promise<void> {
	let timer: NodeJS.Timeout | undefined;
	return Promise.race([
		promise,
		new Promise<void>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`${what} did not answer within ${READY_CHECK_TIMEOUT_MS} ms`)), READY_CHECK_TIMEOUT_MS);
		})
	]).finally(() => clearTimeout(timer));
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * `GET /readyz`: 200 when the store and the bus answer and the node accepts viewers; else 503,
 * naming what is down, so that a load balancer sends nobody here meanwhile.
 */
export async function readiness(runtime: {
	store: Store;
	bus: Bus;
	draining: boolean;
	/** Live streams (WebSocket + SSE) on this node: `viewers.live`. */
	connections: { readonly total: number };
}): Promise<{ status: number; body: ReadinessBody }> {
	const { store, bus } = runtime;
	const [storeResult, busResult] = await Promise.allSettled([
		withTimeout(store.ping(), `the ${store.kind} store`),
		withTimeout(bus.ping(), 'the bus')
	]);
	const body: ReadinessBody = {
		status: 'ready',
		node: bus.nodeId,
		down: [],
		checks: {
			store: { kind: store.kind, ok: storeResult.status === 'fulfilled' },
			bus: { kind: bus.kind, ok: busResult.status === 'fulfilled', detail: bus.status().detail },
			viewers: { ok: !runtime.draining, detail: runtime.draining ? 'draining: shutting down' : 'accepting', live: runtime.connections.total }
		}
	};
	if (storeResult.status === 'rejected') {
		body.checks.store.detail = `${store.kind === 'postgres' ? 'DATABASE_URL: ' : ''}${message(storeResult.reason)}`;
		body.down.push('store');
	}
	if (busResult.status === 'rejected') {
		body.checks.bus.detail = message(busResult.reason);
		body.down.push('bus');
	}
	if (runtime.draining) body.down.push('viewers');
	if (body.down.length > 0) body.status = runtime.draining ? 'draining' : 'unready';
	return { status: body.down.length === 0 ? 200 : 503, body };
}
