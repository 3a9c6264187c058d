import { readable, type Readable } from 'svelte/store';
import { browser } from '$app/environment';
import { executionListSchema } from '../../protocol/api.js';
import type { Execution, ExecutionStatus } from '../../protocol/executions.js';
import type { Connection } from '../connection.js';
import { sharedConnection } from './connection-store.js';
import { createBatcher, nextFrame, type FrameScheduler } from './frame.js';

export interface ExecutionListStoreOptions {
	/** Default: the page's shared connection in the browser, none during SSR. */
	connection?: Connection;
	/** Default: one batch per animation frame. */
	schedule?: FrameScheduler;
}

/** The list page's filters, as in `GET /api/executions`. */
export interface ListFilters {
	status?: ExecutionStatus;
	agent?: string;
	department?: string;
	q?: string;
	cursor?: string;
	limit?: number;
}

export interface ExecutionFeed {
	executions: Execution[];
	nextCursor: string | null;
	/** Set when re-reading the page after a reconnect failed; the live feed carries on. */
	refreshError: string | null;
}

export interface ExecutionFeedOptions extends ExecutionListStoreOptions {
	/** For re-reading the page after a reconnect. Default: the global `fetch`. */
	fetch?: typeof fetch;
}

/** The query string of `filters`, for the API and for links. */
export function filtersQuery(filters: ListFilters): URLSearchParams {
	const params = new URLSearchParams();
	for (const key of ['status', 'agent', 'department', 'q', 'cursor', 'limit'] as const) {
		const value = filters[key];
		if (value !== undefined && value !== '') params.set(key, String(value));
	}
	return params;
}

/**
 * Whether the server would list `execution` under `filters` (the cursor aside). The search
 * mirrors the server's: a case-insensitive substring of id, agent, department, metadata or error.
 */
export function matchesFilters(execution: Execution, filters: ListFilters): boolean {
	if (filters.status && execution.status !== filters.status) return false;
	if (filters.agent && execution.agent.name !== filters.agent) return false;
	if (filters.department && execution.department?.name !== filters.department) return false;
	if (filters.q) {
		const q = filters.q.toLowerCase();
		const haystack = [execution.id, execution.agent.name, execution.department?.name ?? '', JSON.stringify(execution.metadata), execution.error ?? ''];
		if (!haystack.some((text) => text.toLowerCase().includes(q))) return false;
	}
	return true;
}

/** Newest first, as the server orders the list. */
function newerFirst(a: Execution, b: Execution): number {
	if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
	return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** The later of two copies of one execution: summaries only move forward. */
function later(a: Execution, b: Execution): Execution {
	if (a.lastSeq !== b.lastSeq) return a.lastSeq > b.lastSeq ? a : b;
	return Date.parse(b.updatedAt) >= Date.parse(a.updatedAt) ? b : a;
}

/** The list without `executionId` (deleted); the same array when it was not there. */
export function withoutExecution(list: Execution[], executionId: string): Execution[] {
	return list.some((execution) => execution.id === executionId) ? list.filter((execution) => execution.id !== executionId) : list;
}

/** The list after live summaries: updated in place, dropped when they stop matching, new ones in order. */
export function mergeExecutions(list: readonly Execution[], updates: readonly Execution[], filters: ListFilters): Execution[] {
	const byId = new Map(list.map((execution) => [execution.id, execution]));
	const limit = filters.limit ?? Number.POSITIVE_INFINITY;
	const oldest = list.at(-1);
	for (const update of updates) {
		const known = byId.get(update.id);
		const next = known ? later(known, update) : update;
		if (!matchesFilters(next, filters)) {
			byId.delete(update.id);
			continue;
		}
		// Only the first page grows, and only with executions that belong on it.
		if (!known && (filters.cursor || (oldest && list.length >= limit && newerFirst(next, oldest) > 0))) continue;
		byId.set(update.id, next);
	}
	return [...byId.values()].sort(newerFirst);
}

/**
 * One page of the list, live: new executions appear (on the first page), statuses, usage and
 * durations change, all from the connection's execution feed, applied once per frame. After
 * every (re)subscribe the page is read again, since the feed only says what changed from then on.
 */
export function executionFeedStore(
	initial: { executions: readonly Execution[]; nextCursor: string | null },
	filters: ListFilters,
	options: ExecutionFeedOptions = {}
): Readable<ExecutionFeed> {
	let feed: ExecutionFeed = { executions: [...initial.executions], nextCursor: initial.nextCursor, refreshError: null };

	return readable(feed, (set) => {
		const connection = options.connection ?? (browser ? sharedConnection() : undefined);
		if (!connection) return;
		let stopped = false;
		/** Deleted while this page is open: a page read in flight must not bring them back. */
		const deleted = new Set<string>();
		/**
		 * What the feed brought during each page read in flight: the read may have been answered
		 * before an execution was created, and must not drop it (it is applied again on top).
		 */
		const readsInFlight = new Set<Map<string, Execution>>();
		const update = (next: ExecutionFeed) => {
			feed = next;
			set(feed);
		};
		const batcher = createBatcher<Execution>(
			(updates) => update({ ...feed, executions: mergeExecutions(feed.executions, updates, filters) }),
			options.schedule ?? nextFrame
		);

		async function refresh(): Promise<void> {
			const duringRead = new Map<string, Execution>();
			readsInFlight.add(duringRead);
			try {
				const response = await (options.fetch ?? fetch)(`/api/executions?${filtersQuery(filters)}`, {
					headers: { accept: 'application/json' }
				});
				if (!response.ok) throw new Error(`the server answered ${response.status}`);
				const page = executionListSchema.parse(await response.json());
				if (stopped) return;
				batcher.flush();
				// Anything the feed delivered meanwhile may be newer than this read: keep the later copy.
				const known = new Map(feed.executions.map((execution) => [execution.id, execution]));
				const read = page.executions
					.filter((execution) => !deleted.has(execution.id))
					.map((execution) => {
						const held = known.get(execution.id);
						return held ? later(execution, held) : execution;
					});
				const executions = mergeExecutions(read, [...duringRead.values()].filter((execution) => !deleted.has(execution.id)), filters);
				update({ executions, nextCursor: page.nextCursor, refreshError: null });
			} catch (e) {
				if (stopped) return;
				update({ ...feed, refreshError: `Could not refresh the list: ${e instanceof Error ? e.message : String(e)}` });
			} finally {
				readsInFlight.delete(duringRead);
			}
		}

		set(feed);
		const unsubscribe = connection.subscribeExecutions({
			onExecution: (execution) => {
				deleted.delete(execution.id); // news after a delete: created again under that id
				for (const duringRead of readsInFlight) duringRead.set(execution.id, execution);
				batcher.push([execution]);
			},
			onDeleted: (executionId) => {
				deleted.add(executionId);
				// Summaries of it waiting for the next frame go first, then it goes.
				batcher.flush();
				const executions = withoutExecution(feed.executions, executionId);
				if (executions !== feed.executions) update({ ...feed, executions });
			},
			onSubscribed: () => void refresh()
		});
		return () => {
			stopped = true;
			unsubscribe();
			batcher.cancel();
			batcher.flush();
		};
	});
}
