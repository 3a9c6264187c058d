/**
 * A Server-Sent Events parser (the WHATWG event-stream format): feed it decoded text in chunks of
 * any size, get complete messages back. Handles CRLF, CR and LF line ends, also split across
 * chunks; comments; `id` persisting across messages as `lastEventId`.
 */

export interface SseMessage {
	/** `event:` field, `message` by default. */
	event: string;
	/** The `data:` lines joined with `\n`. */
	data: string;
	/** The last event id seen so far (this message's `id:` or an earlier one). */
	lastEventId: string;
}

export class SseParser {
	#buffer = '';
	/** A chunk ended with CR: a following LF belongs to the same line end. */
	#afterCr = false;
	#event = '';
	#data: string[] = [];
	/** The last `id:` seen; what to send as `Last-Event-ID` when reconnecting. */
	lastEventId = '';
	/** The last `retry:` value in ms, if any. */
	retryMs: number | undefined;

	/** Parses a chunk; returns the messages it completed. */
	push(chunk: string): SseMessage[] {
		if (this.#afterCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
		this.#afterCr = false;
		const messages: SseMessage[] = [];
		let text = this.#buffer + chunk;
		let start = 0;
		for (;;) {
			const cr = text.indexOf('\r', start);
			const lf = text.indexOf('\n', start);
			if (cr === -1 && lf === -1) break;
			let end: number;
			let next: number;
			if (lf !== -1 && (cr === -1 || lf < cr)) {
				end = lf;
				next = lf + 1;
			} else {
				end = cr;
				if (cr + 1 === text.length) {
					this.#afterCr = true;
					next = cr + 1;
				} else next = text[cr + 1] === '\n' ? cr + 2 : cr + 1;
			}
			const message = this.#line(text.slice(start, end));
			if (message) messages.push(message);
			start = next;
		}
		this.#buffer = text.slice(start);
		text = '';
		return messages;
	}

	#line(line: string): SseMessage | undefined {
		if (line === '') return this.#dispatch();
		if (line.startsWith(':')) return undefined;
		const colon = line.indexOf(':');
		const field = colon === -1 ? line : line.slice(0, colon);
		let value = colon === -1 ? '' : line.slice(colon + 1);
		if (value.startsWith(' ')) value = value.slice(1);
		switch (field) {
			case 'event':
				this.#event = value;
				break;
			case 'data':
				this.#data.push(value);
				break;
			case 'id':
				if (!value.includes('\0')) this.lastEventId = value;
				break;
			case 'retry':
				if (/^\d+$/.test(value)) this.retryMs = Number(value);
				break;
		}
		return undefined;
	}

	#dispatch(): SseMessage | undefined {
		const event = this.#event || 'message';
		const data = this.#data;
		this.#event = '';
		this.#data = [];
		if (data.length === 0) return undefined;
		return { event, data: data.join('\n'), lastEventId: this.lastEventId };
	}
}
