import type { Execution } from '../../protocol/executions.js';
import type { Publisher } from '../ingest/ingest.js';
import type { StoredRow } from '../store/store.js';
import type { Bus, BusMessage } from './bus.js';

/**
 * What this node tells every node (itself included) once a write has committed: ingest,
 * deletion, retention, sign-out and share revocation all go through here, so that news from
 * this node and from another one reach viewers the same way (`deliverNews`).
 */
export class News implements Publisher {
	readonly #bus: Bus;

	constructor(bus: Bus) {
		this.#bus = bus;
	}

	publishRows(executionId: string, rows: StoredRow[]): void {
		if (rows.length > 0) this.#publish({ type: 'rows', executionId, rows });
	}

	publishExecution(execution: Execution): void {
		this.#publish({ type: 'execution', execution });
	}

	publishDeleted(executionId: string): void {
		this.#publish({ type: 'deleted', executionId });
	}

	/** A viewer signed out: its live connections close on every node. */
	sessionEnded(sessionId: string): void {
		this.#publish({ type: 'session-ended', sessionId });
	}

	/** A share link was revoked: connections viewing through it close on every node. */
	shareRevoked(shareId: string): void {
		this.#publish({ type: 'share-revoked', shareId });
	}

	/** The write is committed whatever happens here: a failure to tell is logged, never thrown. */
	#publish(message: BusMessage): void {
		try {
			this.#bus.publish(message);
		} catch (error) {
			console.error(`[runwatch] publishing ${message.type} failed (viewers heal from the store):`, error);
		}
	}
}

/** Where news is delivered on this node. */
export interface NewsTargets {
	hub: Pick<Publisher, 'publishRows' | 'publishExecution' | 'publishDeleted'> & {
		storedUpTo(executionId: string, lastSeq: number): void;
	};
	access: { sessionEnded(sessionId: string): void; shareRevoked(shareId: string): void };
}

/** Hands every bus message meant for viewers to this node's hub and access rules. */
export function deliverNews(bus: Bus, targets: NewsTargets): () => void {
	const { hub, access } = targets;
	return bus.subscribe((message) => {
		switch (message.type) {
			case 'rows':
				return hub.publishRows(message.executionId, message.rows);
			case 'stored':
				return hub.storedUpTo(message.executionId, message.lastSeq);
			case 'execution':
				return hub.publishExecution(message.execution);
			case 'deleted':
				return hub.publishDeleted(message.executionId);
			case 'session-ended':
				return access.sessionEnded(message.sessionId);
			case 'share-revoked':
				return access.shareRevoked(message.shareId);
		}
	});
}
