import { writable, type Readable } from 'svelte/store';
import { browser } from '$app/environment';
import { eventsPageSchema } from '../../protocol/api.js';
import type { StoredEvent } from '../../protocol/events.js';
import type { Connection } from '../connection.js';
import { sharedConnection } from './connection-store.js';
import { extendView, initialExecutionView, prependView, type ExecutionStoreInput, type ExecutionView } from './execution-view.js';
import { createBatcher, LIVE_UPDATE_INTERVAL_MS, pacedScheduler, type FrameScheduler } from './frame.js';

export {
	eventDepth,
	initialExecutionView,
	stepDepth,
	type ExecutionStoreInput,
	type ExecutionView,
	type StepInfo,
	type StepSpan
} from './execution-view.js';

/**
 * Events fetched per scroll-back request: a few screens of rows, one quick query, and well under
 * the API's page limit.
 */
export const OLDER_PAGE_EVENTS = 500;

export interface ExecutionStoreOptions {
	/** Default: the page's shared connection in the browser, none during SSR. */
	connection?: Connection;
	/** Default: one batch per animation frame. */
	schedule?: FrameScheduler;
	/** For loading older events. Default: the global `fetch`. */
	fetch?: typeof fetch;
}

/** Where a scroll-back stands. */
export type OlderState = { state: 'idle' } | { state: 'loading' } | { state: 'error'; message: string };

export interface ExecutionStore extends Readable<ExecutionView> {
	/** Fetches the events just before the oldest one held. One request at a time; no-op when the first is held. */
	loadOlder(limit?: number): Promise<void>;
	/** The scroll-back's progress, for the "loading earlier events" row. */
	older: Readable<OlderState>;
}

/**
 * One execution, live. Starts from the server-rendered state and follows the execution from
 * exactly its last seq, so nothing is shown twice and nothing is missed. Incoming events are
 * applied once per animation frame: a burst of a thousand events is one store update. The page
 * renders only the newest events; `loadOlder` fetches earlier ones as the person scrolls back.
 */
export function executionStore(input: ExecutionStoreInput, options: ExecutionStoreOptions = {}): ExecutionStore {
	let view = initialExecutionView(input);
	const id = input.execution.id;
	const older = writable<OlderState>({ state: 'idle' });
	let loading: Promise<void> | undefined;

	const store = writable(view, () => {
		const connection = options.connection ?? (browser ? sharedConnection() : undefined);
		if (!connection) return; // SSR: render what we have
		const batcher = createBatcher<StoredEvent>(
			(events) => update(extendView(view, events)),
			options.schedule ?? pacedScheduler(LIVE_UPDATE_INTERVAL_MS)
		);

		// A restarted store resumes from what it holds, not from the server render.
		store.set(view);
		const unsubscribe = connection.subscribe(id, view.execution.lastSeq, {
			onEvents: (events) => batcher.push(events),
			// The server's seq at subscribe time says how far behind a catch-up starts.
			onSubscribed: (lastSeq) => {
				if (lastSeq <= view.serverLastSeq) return;
				batcher.flush();
				update({ ...view, serverLastSeq: lastSeq, behind: Math.max(0, lastSeq - view.execution.lastSeq) });
			},
			onError: (error) => {
				batcher.flush();
				update({ ...view, error });
				// Deleted (or never there): nothing will come of asking again, after a reconnect or
				// otherwise, so stop following it.
				if (error.code === 'not_found') unsubscribe();
			}
		});
		return () => {
			unsubscribe();
			batcher.cancel();
			// Keep what arrived so a restart continues from it.
			batcher.flush();
		};
	});

	function update(next: ExecutionView): void {
		view = next;
		store.set(view);
	}

	async function fetchOlder(limit: number): Promise<void> {
		const before = view.events[0]?.seq ?? view.execution.lastSeq + 1;
		const fetcher = options.fetch ?? fetch;
		older.set({ state: 'loading' });
		try {
			const response = await fetcher(`/api/executions/${encodeURIComponent(id)}/events?before=${before}&limit=${limit}`, {
				headers: { accept: 'application/json' }
			});
			if (!response.ok) throw new Error(`the server answered ${response.status}`);
			const page = eventsPageSchema.parse(await response.json());
			update(prependView(view, page.events));
			older.set({ state: 'idle' });
		} catch (e) {
			older.set({ state: 'error', message: `Could not load earlier events: ${e instanceof Error ? e.message : String(e)}` });
		}
	}

	return {
		subscribe: store.subscribe,
		older: { subscribe: older.subscribe },
		loadOlder(limit = OLDER_PAGE_EVENTS) {
			if (!view.hasOlder) return Promise.resolve();
			loading ??= fetchOlder(limit).finally(() => (loading = undefined));
			return loading;
		}
	};
}
