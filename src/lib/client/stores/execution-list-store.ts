import { readable, type Readable } from 'svelte/store';
import { browser } from '$app/environment';
import type { StoredEvent } from '../../protocol/events.js';
import type { Execution } from '../../protocol/executions.js';
import type { Connection } from '../connection.js';
import { sharedConnection } from './connection-store.js';
import { applyEvents } from './execution-state.js';
import { createBatcher, nextFrame, type FrameScheduler } from './frame.js';

export interface ExecutionListStoreOptions {
	/** Default: the page's shared connection in the browser, none during SSR. */
	connection?: Connection;
	/** Default: one batch per animation frame. */
	schedule?: FrameScheduler;
}

/**
 * A server-rendered list of executions with live status, usage and last seq.
 *
 * Each execution is followed from the seq it was rendered with, not "live from now": an
 * execution that finished between the render and the subscribe must not stay `running` on the
 * list, and the reducer needs every event after that seq to get status and usage right. The
 * replay is only what happened in those few hundred milliseconds.
 */
export function executionListStore(
	initial: readonly Execution[],
	options: ExecutionListStoreOptions = {}
): Readable<Execution[]> {
	let list: Execution[] = [...initial];

	return readable(list, (set) => {
		const connection = options.connection ?? (browser ? sharedConnection() : undefined);
		if (!connection) return;
		const batcher = createBatcher<{ executionId: string; events: StoredEvent[] }>((batches) => {
			const byId = new Map<string, StoredEvent[]>();
			for (const { executionId, events } of batches) {
				const queued = byId.get(executionId);
				if (queued) for (const event of events) queued.push(event);
				else byId.set(executionId, [...events]);
			}
			let changed = false;
			const next = list.map((execution) => {
				const events = byId.get(execution.id);
				if (!events) return execution;
				const updated = applyEvents(execution, events);
				if (updated !== execution) changed = true;
				return updated;
			});
			if (!changed) return;
			list = next;
			set(list);
		}, options.schedule ?? nextFrame);

		set(list);
		const unsubscribers = list.map((execution) =>
			connection.subscribe(execution.id, execution.lastSeq, {
				onEvents: (events) => batcher.push([{ executionId: execution.id, events }])
			})
		);
		return () => {
			for (const unsubscribe of unsubscribers) unsubscribe();
			batcher.cancel();
			batcher.flush();
		};
	});
}
