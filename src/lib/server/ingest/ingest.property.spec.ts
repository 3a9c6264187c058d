import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ID_PATTERN } from '../../protocol/events.js';
import type { Execution } from '../../protocol/executions.js';
import { MAX_EVENT_BYTES, MAX_ID_LENGTH } from '../../protocol/limits.js';
import { anyInputArb, eventInputArb, mutate } from '../../protocol/testing/arbitraries.js';
import { RunwatchError } from '../errors.js';
import type { PreparedEvent, Store } from '../store/store.js';
import { Ingest, parseEventsBody, unauthorisedIngest } from './ingest.js';

/*
 * What reaches the store, by property: a body either parses into events or is refused with
 * `invalid_event`; every event that is prepared for storage has an id, a ts, and JSON text of
 * at most MAX_EVENT_BYTES that says exactly what was sent; a bigger one is refused (413) and
 * nothing of its batch is stored.
 */

const execution = { id: 'r1', lastSeq: 0 } as Execution;

function ingestRecording() {
	const appended: PreparedEvent[][] = [];
	const store = {
		async createExecution() {
			throw new Error('not used');
		},
		async appendEvents(_id: string, events: PreparedEvent[]) {
			appended.push(events);
			return { stored: [], rows: [], results: [], execution };
		}
	} as unknown as Pick<Store, 'createExecution' | 'appendEvents' | 'deleteExecution'>;
	const ingest = new Ingest({
		store,
		publisher: { publishRows() {}, publishExecution() {}, publishDeleted() {} },
		access: { canIngest: () => true },
		admit: () => () => {}
	});
	return { ingest, appended };
}

/** Characters of 1 to 4 bytes in JSON (string length and bytes differ); sizes spread out and close to the limit. */
const JSON_BYTES: Record<string, number> = { x: 1, é: 2, '€': 3, '😀': 4, '"': 2, '\n': 2 };
const padArb = fc.constantFrom(...Object.keys(JSON_BYTES)).chain((char) => {
	const atLimit = Math.floor(MAX_EVENT_BYTES / JSON_BYTES[char]!);
	return fc.record({
		char: fc.constant(char),
		count: fc.oneof(fc.integer({ min: 0, max: atLimit + 1000 }), fc.integer({ min: atLimit - 400, max: atLimit + 10 }))
	});
});

const sizedEventArb = fc.tuple(eventInputArb, fc.option(padArb, { nil: undefined })).map(([event, pad]) => {
	if (!pad) return event;
	const data = event.data !== null && typeof event.data === 'object' && !Array.isArray(event.data) ? event.data : {};
	return { ...event, data: { ...data, pad: pad.char.repeat(pad.count) } };
});

describe('ingest, by property', () => {
	test('a body of any shape: parsed events, or `invalid_event`; never anything else', () => {
		const body = fc.oneof(anyInputArb, eventInputArb, mutate(eventInputArb), fc.array(eventInputArb, { maxLength: 3 }).map((events) => ({ events })), mutate(fc.array(eventInputArb, { maxLength: 3 }).map((events) => ({ events }))));
		fc.assert(
			fc.property(body, (input) => {
				try {
					const { inputs } = parseEventsBody(input);
					expect(inputs.length).toBeGreaterThan(0);
				} catch (error) {
					expect(error).toBeInstanceOf(RunwatchError);
					expect((error as RunwatchError).code).toBe('invalid_event');
				}
			}),
			{ numRuns: 300 }
		);
	});

	test('prepared events are at most MAX_EVENT_BYTES and say what was sent; bigger ones are a 413 for the whole batch', async () => {
		await fc.assert(
			fc.asyncProperty(fc.array(sizedEventArb, { minLength: 1, maxLength: 3 }), async (events) => {
				const { ingest, appended } = ingestRecording();
				const { inputs } = parseEventsBody({ events });
				const sizes = inputs.map((input) => Buffer.byteLength(JSON.stringify({ ...input, id: input.id ?? '00000000-0000-0000-0000-000000000000', ts: input.ts ?? new Date().toISOString() })));
				const result = await ingest.appendEvents('r1', inputs).catch((error: unknown) => error);
				// The same bytes as the server's JSON (a generated id is a 36-character UUID, its ts an ISO string).
				const tooBig = sizes.some((size) => size > MAX_EVENT_BYTES);
				if (tooBig || result instanceof RunwatchError) {
					expect(result).toBeInstanceOf(RunwatchError);
					expect((result as RunwatchError).code).toBe('payload_too_large');
					expect(tooBig).toBe(true);
					expect(appended).toHaveLength(0);
					return;
				}
				expect(appended).toHaveLength(1);
				const prepared = appended[0]!;
				expect(prepared).toHaveLength(inputs.length);
				prepared.forEach((event, i) => {
					expect(Buffer.byteLength(event.json!)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
					expect(event.id.length).toBeLessThanOrEqual(MAX_ID_LENGTH);
					expect(event.id).toMatch(ID_PATTERN);
					expect(Number.isNaN(Date.parse(event.ts))).toBe(false);
					const { json, ...fields } = event;
					expect(JSON.parse(json!)).toEqual(JSON.parse(JSON.stringify(fields)));
					const input = inputs[i]!;
					for (const key of ['id', 'type', 'ts', 'stepId', 'parentStepId'] as const) if (input[key] !== undefined) expect(event[key]).toBe(input[key]);
					expect(JSON.stringify(event.data)).toBe(JSON.stringify(input.data));
				});
			}),
			{ numRuns: 30 }
		);
	}, 20_000);
});

test('a bare array of events is refused with a sentence that shows the batch shape', () => {
	expect(() => parseEventsBody([{ type: 'output', data: { text: 'x' } }])).toThrow(/bare array of 1 item; send \{"events": \[\.\.\.\]\}/);
	expect(parseEventsBody({ events: [{ type: 'output', data: { text: 'x' } }] }).inputs).toHaveLength(1);
});

test('a 401 says whether a token came at all, and never echoes it', () => {
	expect(unauthorisedIngest({}).message).toMatch(/^No ingest token was sent\. Send the ingest token as "Authorization: Bearer <token>"/);
	// A header without the Bearer scheme (a token pasted alone, or Basic) is named as such.
	for (const authorization of ['Basic abc', 'rw_raw_secret_pasted_alone']) {
		const message = unauthorisedIngest({ authorization }).message;
		expect(message).toMatch(/^The Authorization header does not start with "Bearer "\. Send the ingest token as "Authorization: Bearer <token>"/);
		expect(message).not.toContain('rw_raw_secret');
	}
	const wrong = unauthorisedIngest({ authorization: 'Bearer rw_wrong_secret' });
	expect(wrong.message).toMatch(/^The bearer token sent is not the ingest token\./);
	expect(wrong.message).not.toContain('rw_wrong_secret');
	expect(wrong.code).toBe('unauthorized');
});
