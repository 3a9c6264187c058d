import type { StoredEvent } from '../../protocol/events.js';

/**
 * A run of consecutive events of one execution, `firstSeq..lastSeq`, with its JSON built at
 * most once however many viewers it goes to: fan-out to N sockets costs one serialisation.
 */
export class EventBatch {
	readonly executionId: string;
	readonly firstSeq: number;
	readonly lastSeq: number;
	#events: StoredEvent[] | undefined;
	#eventsJson: string | undefined;
	#rows: readonly { seq: number; json: string }[] | undefined;
	#wsFrame: Buffer | undefined;
	#sseEventsFrame: Buffer | undefined;
	#sseMessageFrame: Buffer | undefined;

	private constructor(executionId: string, firstSeq: number, lastSeq: number) {
		this.executionId = executionId;
		this.firstSeq = firstSeq;
		this.lastSeq = lastSeq;
	}

	/** From live events (already parsed objects). */
	static fromEvents(executionId: string, events: StoredEvent[]): EventBatch {
		const batch = new EventBatch(executionId, events[0]!.seq, events.at(-1)!.seq);
		batch.#events = events;
		return batch;
	}

	/** From stored JSON rows (replay): no parse, no re-serialisation. */
	static fromJsonRows(executionId: string, rows: readonly { seq: number; json: string }[]): EventBatch {
		const batch = new EventBatch(executionId, rows[0]!.seq, rows.at(-1)!.seq);
		batch.#rows = rows;
		let json = '[';
		for (let i = 0; i < rows.length; i++) json += (i ? ',' : '') + rows[i]!.json;
		batch.#eventsJson = json + ']';
		return batch;
	}

	get size(): number {
		return this.lastSeq - this.firstSeq + 1;
	}

	get events(): StoredEvent[] {
		this.#events ??= JSON.parse(this.eventsJson) as StoredEvent[];
		return this.#events;
	}

	/** The JSON array of the events. */
	get eventsJson(): string {
		this.#eventsJson ??= JSON.stringify(this.#events);
		return this.#eventsJson;
	}

	/** The events with seq > `afterSeq` (for a viewer that already holds the start of this run). */
	after(afterSeq: number): EventBatch {
		if (afterSeq < this.firstSeq) return this;
		if (this.#rows) {
			return EventBatch.fromJsonRows(
				this.executionId,
				this.#rows.filter((r) => r.seq > afterSeq)
			);
		}
		return EventBatch.fromEvents(
			this.executionId,
			this.events.filter((e) => e.seq > afterSeq)
		);
	}

	/** The `events` message as JSON text: the WebSocket frame, and the SSE message's data. */
	get messageJson(): string {
		return `{"type":"events","executionId":${JSON.stringify(this.executionId)},"events":${this.eventsJson}}`;
	}

	/**
	 * The WebSocket `events` frame, built and UTF-8 encoded once: sending a Buffer (as a text
	 * frame) spares `ws` from encoding the same string again for every socket.
	 */
	get wsFrame(): Buffer {
		this.#wsFrame ??= Buffer.from(this.messageJson);
		return this.#wsFrame;
	}

	/**
	 * Server-Sent Events for one execution's stream: one SSE message per event, `id:` its seq, so
	 * that EventSource's Last-Event-ID resumes exactly after the last event received.
	 */
	get sseEventsFrame(): Buffer {
		if (!this.#sseEventsFrame) {
			const jsons = this.#rows?.map((r) => r.json) ?? this.events.map((e) => JSON.stringify(e));
			let text = '';
			for (let i = 0; i < jsons.length; i++) text += `id: ${this.firstSeq + i}\ndata: ${jsons[i]}\n\n`;
			this.#sseEventsFrame = Buffer.from(text);
		}
		return this.#sseEventsFrame;
	}

	/** One SSE message carrying the whole `events` message (the dashboard's multiplexed stream). */
	get sseMessageFrame(): Buffer {
		this.#sseMessageFrame ??= Buffer.from(`data: ${this.messageJson}\n\n`);
		return this.#sseMessageFrame;
	}
}
