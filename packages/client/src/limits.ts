/**
 * The client's limits and defaults. The server's own limits (docs/protocol.md) are the ceiling:
 * a batch over them is refused whole, so the client stays well below.
 */

import { DEFAULT_URL } from './base-url.cjs';

/** Server: most events per POST. */
export const SERVER_MAX_BATCH_EVENTS = 1000;
/** Server: largest request body. */
export const SERVER_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Server: largest single event, as JSON. */
export const SERVER_MAX_EVENT_BYTES = 256 * 1024;
/** Server: longest step, agent or event-type name. */
export const MAX_NAME_LENGTH = 200;

/** An event larger than this (as JSON) has its big fields truncated; leaves room under the server's 256 KiB. */
export const MAX_EVENT_BYTES = 240 * 1024;

/**
 * Output text is sent in pieces of at most this many UTF-16 code units. Escaped in JSON a code
 * unit takes at most 6 bytes (`\u001b`), so a piece is ≤ 192 KiB: under {@link MAX_EVENT_BYTES}
 * whatever the text holds.
 */
export const OUTPUT_PIECE_UNITS = 32 * 1024;

/** Defaults of the client options; each is documented where the option is declared. */
export const DEFAULTS = {
	url: DEFAULT_URL,
	maxBatchEvents: 500,
	maxBatchBytes: 1024 * 1024,
	flushIntervalMs: 50,
	maxQueueEvents: 10_000,
	maxQueueBytes: 16 * 1024 * 1024,
	requestTimeoutMs: 10_000,
	flushTimeoutMs: 5_000,
	startTimeoutMs: 2_000,
	backoffMinMs: 100,
	backoffMaxMs: 5_000,
	cancelWaitSeconds: 20
} as const;
