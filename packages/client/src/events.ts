/**
 * Turning what an agent passes into events the server accepts: JSON-safe, under the event size
 * limit, names within bounds. An event the server would refuse poisons its whole batch, so the
 * client fixes what it can before queueing.
 */
import { MAX_EVENT_BYTES, MAX_NAME_LENGTH, OUTPUT_PIECE_UNITS } from './limits.js';

/** An event as sent to `POST /api/executions/:id/events`. */
export interface OutgoingEvent {
	id: string;
	type: string;
	ts: string;
	stepId?: string;
	parentStepId?: string;
	data?: Record<string, unknown>;
}

/** Largest string or field preview kept when an event is too big. */
const FIELD_PREVIEW_UNITS = 16 * 1024;

/** `text` cut to at most `units` UTF-16 code units, never through a surrogate pair. */
export function cutString(text: string, units: number): string {
	if (text.length <= units) return text;
	let end = units;
	const last = text.charCodeAt(end - 1);
	if (last >= 0xd800 && last <= 0xdbff) end--;
	return text.slice(0, end);
}

/** Splits output text into pieces that each fit in one event, never through a surrogate pair. */
export function splitText(text: string, units: number = OUTPUT_PIECE_UNITS): string[] {
	if (text.length <= units) return [text];
	const pieces: string[] = [];
	let start = 0;
	while (start < text.length) {
		const piece = cutString(text.slice(start, start + units), units);
		pieces.push(piece);
		start += piece.length || 1;
	}
	return pieces;
}

/** A step, agent or department name the server accepts: 1–200 characters. */
export function cleanName(name: unknown, fallback: string): string {
	const text = typeof name === 'string' ? name.trim() : '';
	return text ? cutString(text, MAX_NAME_LENGTH) : fallback;
}

let lastMs = NaN;
let lastIso = '';

/** `new Date(ms).toISOString()`, remembering the last one: events queued in a burst share their millisecond. */
export function isoFromMs(ms: number): string {
	if (ms !== lastMs) {
		lastIso = new Date(ms).toISOString();
		lastMs = ms;
	}
	return lastIso;
}

/** JSON.stringify that turns bigints into strings and never throws (cycles become a note). */
export function safeStringify(value: unknown): string | undefined {
	try {
		return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
	} catch (error) {
		return undefined;
	}
}

/** `value` when it survives JSON, else `undefined` (functions, cycles, symbols). */
export function jsonValue(value: unknown): unknown {
	if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
	const json = safeStringify(value);
	return json === undefined ? undefined : (JSON.parse(json) as unknown);
}

const note = (bytes: number) => ` … [truncated by @runwatch/client: ${bytes} bytes]`;

/** A big field reduced to a preview string with a note of its original size. */
function preview(value: unknown): string {
	const text = typeof value === 'string' ? value : (safeStringify(value) ?? String(value));
	return cutString(text, FIELD_PREVIEW_UNITS) + note(Buffer.byteLength(text));
}

/** Fields whose type the server checks; a string there stays a string when truncated. */
const REQUIRED_FIELDS = ['name', 'kind', 'level', 'message', 'text', 'stream', 'reason', 'stack'];

/**
 * The event as JSON, under {@link MAX_EVENT_BYTES}: fields bigger than 16 KiB become previews
 * with a note saying how big they were; if that is not enough, only the fields the server checks
 * are kept. Values JSON cannot hold (cycles) are replaced by a note rather than failing.
 */
export function serialiseEvent(event: OutgoingEvent): string {
	let json = safeStringify(event);
	if (json === undefined && event.data) {
		const data: Record<string, unknown> = {};
		for (const [key, value] of Object.entries(event.data)) {
			data[key] = safeStringify(value) === undefined ? `[not serialisable as JSON: ${Object.prototype.toString.call(value)}]` : value;
		}
		event = { ...event, data };
		json = safeStringify(event);
	}
	if (json === undefined) json = JSON.stringify({ ...event, data: undefined });
	if (Buffer.byteLength(json) <= MAX_EVENT_BYTES || !event.data) return json;

	const data: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(event.data)) {
		const size = typeof value === 'string' ? value.length : (safeStringify(value)?.length ?? 0);
		data[key] = size > FIELD_PREVIEW_UNITS ? preview(value) : value;
	}
	json = JSON.stringify({ ...event, data });
	if (Buffer.byteLength(json) <= MAX_EVENT_BYTES) return json;

	const kept: Record<string, unknown> = { truncated: `event over ${MAX_EVENT_BYTES} bytes: only its required fields were kept` };
	for (const key of REQUIRED_FIELDS) {
		const value = data[key];
		if (typeof value === 'string') kept[key] = cutString(value, FIELD_PREVIEW_UNITS);
	}
	return JSON.stringify({ ...event, data: kept });
}
