import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { z } from 'zod';
import { cancelQuerySchema, createShareSchema, eventBatchSchema, eventsQuerySchema, listQuerySchema } from './api.js';
import { eventInputSchema, ID_PATTERN, isCoreEventType, LOG_LEVELS, STEP_KINDS, storedEventSchema } from './events.js';
import { cancelRequestSchema, createExecutionSchema, EXECUTION_STATUSES, executionSchema } from './executions.js';
import {
	MAX_BATCH_EVENTS,
	MAX_CANCEL_REASON_LENGTH,
	MAX_CANCEL_WAIT_SECONDS,
	MAX_EVENT_COST_USD,
	MAX_EVENTS_PAGE,
	MAX_ID_LENGTH,
	MAX_LIST_LIMIT,
	MAX_METADATA_ENTRIES,
	MAX_METADATA_KEY_LENGTH,
	MAX_METADATA_VALUE_LENGTH,
	MAX_NAME_LENGTH,
	MAX_SHARE_SECONDS,
	MIN_SHARE_SECONDS
} from './limits.js';
import { clientMessageSchema, serverMessageSchema } from './messages.js';
import {
	anyInputArb,
	badIdArb,
	eventInputArb,
	hostileTextArb,
	idArb,
	jsonArb,
	mutate,
	timestampArb,
	trickyKeyArb
} from './testing/arbitraries.js';

/*
 * Every schema at a boundary, by property: nothing thrown for any input (safeParse answers
 * success or failure), generated valid inputs accepted and given back unchanged (also after a
 * trip through JSON), and whatever is accepted keeps the documented limits.
 */

const RUNS = 60;

const isId = (value: unknown) => typeof value === 'string' && value.length >= 1 && value.length <= MAX_ID_LENGTH && ID_PATTERN.test(value);
const isTimestamp = (value: unknown) => typeof value === 'string' && /(Z|[+-]\d\d:\d\d)$/.test(value) && !Number.isNaN(Date.parse(value));
const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;

/** safeParse of anything returns; what it accepts passes `check`. */
function neverThrows<S extends z.ZodType>(schema: S, inputs: fc.Arbitrary<unknown>, check: (data: z.output<S>) => void, numRuns = RUNS): void {
	fc.assert(
		fc.property(inputs, (input) => {
			const result = schema.safeParse(input);
			expect(typeof result.success).toBe('boolean');
			if (result.success) check(result.data);
			else expect(result.error.issues.length).toBeGreaterThan(0);
		}),
		{ numRuns }
	);
}

/** Valid inputs are accepted and come back as they were sent, also after JSON. */
function roundTrips(schema: z.ZodType, valid: fc.Arbitrary<unknown>, expected: (input: unknown) => unknown = (input) => input): void {
	fc.assert(
		fc.property(valid, (input) => {
			const result = schema.safeParse(input);
			if (!result.success) throw new Error(`refused: ${JSON.stringify(result.error.issues)}`);
			expect(result.data).toEqual(expected(input));
			const again = schema.safeParse(JSON.parse(JSON.stringify(input)));
			expect(again.success && again.data).toEqual(JSON.parse(JSON.stringify(expected(input))));
		}),
		{ numRuns: RUNS }
	);
}

function checkEvent(event: z.output<typeof eventInputSchema>): void {
	for (const field of ['id', 'stepId', 'parentStepId'] as const) if (event[field] !== undefined) expect(isId(event[field]), field).toBe(true);
	expect(event.type).toMatch(/^[A-Za-z0-9_.:/-]{1,200}$/);
	if (event.ts !== undefined) expect(isTimestamp(event.ts)).toBe(true);
	if (!isCoreEventType(event.type)) return;
	if (event.type === 'step-start' || event.type === 'step-end') expect(isId(event.stepId)).toBe(true);
	const data = event.data as Record<string, unknown> | undefined;
	const object = () => {
		expect(data).toBeTypeOf('object');
		expect(data).not.toBeNull();
		return data!;
	};
	switch (event.type) {
		case 'output':
			expect(object().text).toBeTypeOf('string');
			break;
		case 'log':
			expect(LOG_LEVELS).toContain(object().level);
			expect(object().message).toBeTypeOf('string');
			break;
		case 'step-start': {
			const { name, kind } = object();
			expect(typeof name === 'string' && name.length >= 1 && name.length <= MAX_NAME_LENGTH).toBe(true);
			expect(STEP_KINDS).toContain(kind);
			break;
		}
		case 'usage':
			checkUsage(object());
			break;
		case 'step-end':
			if (data?.usage !== undefined) checkUsage(data.usage as Record<string, unknown>);
			break;
		case 'error':
			expect(object().message).toBeTypeOf('string');
			break;
		case 'cancel-requested':
			if (data?.reason !== undefined) expect((data.reason as string).length).toBeLessThanOrEqual(MAX_CANCEL_REASON_LENGTH);
			break;
	}
}

function checkUsage(usage: Record<string, unknown>): void {
	for (const key of ['inputTokens', 'outputTokens'] as const) if (usage[key] !== undefined) expect(isCount(usage[key]), key).toBe(true);
	if (usage.costUsd !== undefined) {
		expect(usage.costUsd).toBeTypeOf('number');
		expect((usage.costUsd as number) >= 0 && (usage.costUsd as number) <= MAX_EVENT_COST_USD).toBe(true);
	}
}

describe('event input and batch', () => {
	test('anything: no throw; what is accepted keeps the limits', () => {
		neverThrows(eventInputSchema, fc.oneof(anyInputArb, mutate(eventInputArb), mutate(mutate(eventInputArb))), checkEvent, 150);
	});

	test('valid events are accepted unchanged', () => {
		roundTrips(eventInputSchema, eventInputArb);
	});

	test('a bad id anywhere is refused', () => {
		fc.assert(
			fc.property(eventInputArb, fc.constantFrom('id', 'stepId', 'parentStepId'), badIdArb, (event, field, bad) => {
				expect(eventInputSchema.safeParse({ ...event, [field]: bad }).success).toBe(false);
			}),
			{ numRuns: RUNS }
		);
	});

	test('batches: anything, no throw; 1 to MAX_BATCH_EVENTS valid events', () => {
		const batch = fc.array(eventInputArb, { minLength: 1, maxLength: 5 }).map((events) => ({ events }));
		neverThrows(eventBatchSchema, fc.oneof(anyInputArb, mutate(batch), fc.record({ events: fc.array(anyInputArb, { maxLength: 4 }) })), (data) => {
			expect(data.events.length).toBeGreaterThanOrEqual(1);
			expect(data.events.length).toBeLessThanOrEqual(MAX_BATCH_EVENTS);
			data.events.forEach(checkEvent);
		});
		roundTrips(eventBatchSchema, batch);
		const event = { type: 'log', data: { level: 'info', message: 'x' } };
		expect(eventBatchSchema.safeParse({ events: Array(MAX_BATCH_EVENTS).fill(event) }).success).toBe(true);
		expect(eventBatchSchema.safeParse({ events: Array(MAX_BATCH_EVENTS + 1).fill(event) }).success).toBe(false);
	});

	test('stored events: anything, no throw; seq positive, ids and ts valid', () => {
		const stored = fc.tuple(eventInputArb, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), idArb, timestampArb).map(([event, seq, id, ts]) => ({ ...event, seq, id, ts }));
		neverThrows(storedEventSchema, fc.oneof(anyInputArb, mutate(stored)), (event) => {
			expect(Number.isSafeInteger(event.seq) && event.seq > 0).toBe(true);
			expect(isId(event.id)).toBe(true);
			expect(isTimestamp(event.ts)).toBe(true);
		});
		roundTrips(storedEventSchema, stored);
	});
});

/** `{ name, ...extra }` or a bare name, as create takes `agent` and `department`. */
const namedArb = fc.oneof(
	fc.string({ minLength: 1, maxLength: MAX_NAME_LENGTH }).filter((s) => s.trim().length > 0 && s.trim() === s),
	fc.record({ name: hostileTextArb.filter((s) => s.trim().length > 0 && s.trim() === s && s.length <= MAX_NAME_LENGTH), team: hostileTextArb }, { requiredKeys: ['name'] })
);
const metadataArb = fc.dictionary(
	fc.oneof(fc.string({ minLength: 1, maxLength: MAX_METADATA_KEY_LENGTH }), trickyKeyArb.filter((k) => k !== '')),
	fc.oneof(hostileTextArb, fc.string({ maxLength: MAX_METADATA_VALUE_LENGTH })),
	{ maxKeys: MAX_METADATA_ENTRIES }
);
const createArb = fc.record({ id: idArb, agent: namedArb, department: namedArb, metadata: metadataArb }, { requiredKeys: ['agent'] });
function withoutProto<T>(record: Record<string, T>): Record<string, T> {
	return Object.fromEntries(Object.entries(record).filter(([key]) => key !== '__proto__'));
}
const asNamed = (value: unknown) => (typeof value === 'string' ? { name: value } : value);

describe('create execution', () => {
	test('a missing or wrong agent is refused with a sentence saying what it takes', () => {
		const messageOf = (body: unknown) => {
			const result = createExecutionSchema.safeParse(body);
			return result.success ? undefined : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
		};
		expect(messageOf({})).toBe('agent: is required: a name, or an object with a "name"');
		expect(messageOf({ agent: 5 })).toBe('agent: must be a name, or an object with a "name"');
		expect(messageOf({ agent: { name: '' } })).toBe('agent.name: must not be empty');
	});

	test('anything: no throw; what is accepted keeps the limits', () => {
		neverThrows(createExecutionSchema, fc.oneof(anyInputArb, mutate(createArb), mutate(mutate(createArb))), (data) => {
			if (data.id !== undefined) expect(isId(data.id)).toBe(true);
			for (const named of [data.agent, data.department]) {
				if (named === undefined) continue;
				expect(named.name).toBeTypeOf('string');
				expect(named.name.length).toBeGreaterThanOrEqual(1);
				expect(named.name.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
				expect(named.name.trim()).toBe(named.name);
			}
			if (data.metadata !== undefined) {
				const entries = Object.entries(data.metadata);
				expect(entries.length).toBeLessThanOrEqual(MAX_METADATA_ENTRIES);
				for (const [key, value] of entries) {
					expect(key.length >= 1 && key.length <= MAX_METADATA_KEY_LENGTH).toBe(true);
					expect(typeof value === 'string' && value.length <= MAX_METADATA_VALUE_LENGTH).toBe(true);
				}
			}
		});
	});

	test('valid bodies are accepted, the shorthand name expanded', () => {
		roundTrips(createExecutionSchema, createArb, (input) => {
			const body = input as Record<string, unknown>;
			const out: Record<string, unknown> = { ...body, agent: asNamed(body.agent) };
			if (body.department !== undefined) out.department = asNamed(body.department);
			// zod drops a `__proto__` key (so that it cannot set a prototype); every other key is kept.
			if (body.metadata !== undefined) out.metadata = withoutProto(body.metadata as Record<string, string>);
			return out;
		});
	});

	test('metadata keys that name Object.prototype members are plain keys; `__proto__` is dropped, nothing polluted', () => {
		fc.assert(
			fc.property(trickyKeyArb.filter((k) => k !== ''), fc.string({ maxLength: 20 }), (key, value) => {
				const metadata = JSON.parse(`{${JSON.stringify(key)}:${JSON.stringify(value)},"a":"b"}`);
				const result = createExecutionSchema.safeParse({ agent: 'a', metadata });
				expect(result.success).toBe(true);
				const kept = result.data!.metadata!;
				expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
				expect(Object.entries(kept)).toEqual(key === '__proto__' ? [['a', 'b']] : [[key, value], ['a', 'b']]);
				expect(Object.keys(Object.prototype)).toEqual([]);
				expect(({} as Record<string, unknown>).a).toBeUndefined();
			})
		);
	});
});

test('a `__proto__` field of agent or department is dropped, nothing polluted; event data keeps it', () => {
	fc.assert(
		fc.property(trickyKeyArb.filter((k) => k !== ''), jsonArb, (key, value) => {
			const extra = JSON.parse(`{${JSON.stringify(key)}:${JSON.stringify(value)}}`) as Record<string, unknown>;
			const { agent, department } = createExecutionSchema.parse({ agent: { name: 'a', ...extra }, department: { name: 'd', ...extra } });
			for (const kept of [agent, department!]) {
				expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
				expect(Object.hasOwn(kept, key)).toBe(key !== '__proto__');
			}
			// Event data is validated, then stored as sent: unchanged, whatever its keys.
			for (const type of ['log', 'custom']) {
				const data = { level: 'info', message: 'm', ...extra };
				expect(JSON.stringify(eventInputSchema.parse({ type, data }).data)).toBe(JSON.stringify(data));
			}
			expect(Object.keys(Object.prototype)).toEqual([]);
		}),
		{ numRuns: 30 }
	);
});

describe('cancel request and share create', () => {
	test('cancel: anything, no throw; a reason is at most 500 characters, trimmed', () => {
		const valid = fc.record({ reason: fc.string({ maxLength: MAX_CANCEL_REASON_LENGTH }) }, { requiredKeys: [] });
		neverThrows(cancelRequestSchema, fc.oneof(anyInputArb, mutate(valid), fc.record({ reason: fc.string({ maxLength: 700 }) })), (data) => {
			if (data.reason !== undefined) {
				expect(data.reason.length).toBeLessThanOrEqual(MAX_CANCEL_REASON_LENGTH);
				expect(data.reason.trim()).toBe(data.reason);
			}
		});
		roundTrips(cancelRequestSchema, valid, (input) => {
			const { reason } = input as { reason?: string };
			return reason === undefined ? {} : { reason: reason.trim() };
		});
	});

	test('share: anything, no throw; a life of whole seconds within 1 s and a year', () => {
		const valid = fc.record({ expiresInSeconds: fc.integer({ min: MIN_SHARE_SECONDS, max: MAX_SHARE_SECONDS }) }, { requiredKeys: [] });
		const numbers = fc.record({ expiresInSeconds: fc.oneof(fc.double(), fc.integer(), fc.constant(MAX_SHARE_SECONDS + 1), fc.constant(0)) });
		neverThrows(createShareSchema, fc.oneof(anyInputArb, mutate(valid), numbers), (data) => {
			if (data.expiresInSeconds !== undefined) {
				expect(Number.isInteger(data.expiresInSeconds)).toBe(true);
				expect(data.expiresInSeconds).toBeGreaterThanOrEqual(MIN_SHARE_SECONDS);
				expect(data.expiresInSeconds).toBeLessThanOrEqual(MAX_SHARE_SECONDS);
			}
		});
		roundTrips(createShareSchema, valid);
	});
});

/** A query as the routes hand it over: the search parameters as strings (last one wins). */
const queryValueArb = fc.oneof(
	fc.string({ maxLength: 30 }),
	fc.nat().map(String),
	fc.constantFrom('0', '-1', '1e3', '0x10', ' 5', '5 ', '9007199254740993', '99999999999999999999', 'NaN', '')
);
function queryArb(keys: string[]): fc.Arbitrary<Record<string, string>> {
	return fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 8 }), trickyKeyArb), queryValueArb, { maxKeys: 5 });
}

describe('queries', () => {
	test('list: anything, no throw; limit 1..200, a known status, bounded strings', () => {
		neverThrows(listQuerySchema, fc.oneof(anyInputArb, queryArb(['status', 'agent', 'department', 'q', 'cursor', 'limit'])), (query) => {
			expect(Number.isInteger(query.limit) && query.limit >= 1 && query.limit <= MAX_LIST_LIMIT).toBe(true);
			if (query.status !== undefined) expect(EXECUTION_STATUSES).toContain(query.status);
			for (const key of ['agent', 'department', 'q'] as const) {
				if (query[key] !== undefined) expect(query[key]!.length >= 1 && query[key]!.length <= MAX_NAME_LENGTH).toBe(true);
			}
			if (query.cursor !== undefined) expect(query.cursor.length).toBeLessThanOrEqual(200);
		});
		const valid = fc.record(
			{
				status: fc.constantFrom(...EXECUTION_STATUSES),
				agent: fc.string({ minLength: 1, maxLength: MAX_NAME_LENGTH }),
				q: hostileTextArb.filter((s) => s.length >= 1 && s.length <= MAX_NAME_LENGTH),
				limit: fc.integer({ min: 1, max: MAX_LIST_LIMIT })
			},
			{ requiredKeys: [] }
		);
		fc.assert(
			fc.property(valid, (query) => {
				const text = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)]));
				expect(listQuerySchema.parse(text)).toEqual({ limit: 50, ...query });
			}),
			{ numRuns: RUNS }
		);
	});

	test('events: anything, no throw; since or before (not both) safe integers, limit 1..1000', () => {
		neverThrows(eventsQuerySchema, fc.oneof(anyInputArb, queryArb(['since', 'before', 'limit'])), (query) => {
			expect(Number.isInteger(query.limit) && query.limit >= 1 && query.limit <= MAX_EVENTS_PAGE).toBe(true);
			expect(query.since === undefined || query.before === undefined).toBe(true);
			for (const seq of [query.since, query.before]) if (seq !== undefined) expect(isCount(seq)).toBe(true);
		});
		const valid = fc.oneof(
			fc.record({ since: fc.nat({ max: Number.MAX_SAFE_INTEGER }), limit: fc.integer({ min: 1, max: MAX_EVENTS_PAGE }) }, { requiredKeys: [] }),
			fc.record({ before: fc.nat({ max: Number.MAX_SAFE_INTEGER }), limit: fc.integer({ min: 1, max: MAX_EVENTS_PAGE }) }, { requiredKeys: [] })
		);
		fc.assert(
			fc.property(valid, (query) => {
				const text = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)]));
				expect(eventsQuerySchema.parse(text)).toEqual({ limit: 1000, ...query });
			}),
			{ numRuns: RUNS }
		);
	});

	test('cancel long-poll: anything, no throw; wait 0..25', () => {
		neverThrows(cancelQuerySchema, fc.oneof(anyInputArb, queryArb(['wait'])), (query) => {
			expect(Number.isInteger(query.wait) && query.wait >= 0 && query.wait <= MAX_CANCEL_WAIT_SECONDS).toBe(true);
		});
		fc.assert(
			fc.property(fc.integer({ min: 0, max: MAX_CANCEL_WAIT_SECONDS }), (wait) => {
				expect(cancelQuerySchema.parse({ wait: String(wait) })).toEqual({ wait });
			})
		);
	});
});

const clientMessageArb = fc.oneof(
	fc.record({ type: fc.constant('subscribe'), executionId: idArb, since: fc.nat({ max: Number.MAX_SAFE_INTEGER }) }, { requiredKeys: ['type', 'executionId'] }),
	fc.record({ type: fc.constant('unsubscribe'), executionId: idArb }),
	fc.constantFrom({ type: 'ping' }, { type: 'subscribe-executions' }, { type: 'unsubscribe-executions' })
);

const storedEventArb = fc
	.tuple(eventInputArb, fc.integer({ min: 1, max: 1_000_000 }), idArb, timestampArb)
	.map(([event, seq, id, ts]) => ({ ...event, seq, id, ts }));
const executionArb = fc.record(
	{
		id: idArb,
		agent: fc.record({ name: hostileTextArb }),
		department: fc.record({ name: hostileTextArb }),
		// As stored: create drops a `__proto__` key (fast-check's strings do make one now and then).
		metadata: fc.dictionary(fc.string({ maxLength: 10 }), hostileTextArb, { maxKeys: 4 }).map(withoutProto),
		createdAt: timestampArb,
		updatedAt: timestampArb,
		status: fc.constantFrom(...EXECUTION_STATUSES),
		startedAt: timestampArb,
		lastSeq: fc.nat(),
		usage: fc.record({ inputTokens: fc.nat(), outputTokens: fc.nat(), costUsd: fc.double({ min: 0, max: 1e6, noNaN: true }) }),
		error: hostileTextArb
	},
	{ requiredKeys: ['id', 'agent', 'metadata', 'createdAt', 'updatedAt', 'status', 'lastSeq', 'usage'] }
);
const serverMessageArb = fc.oneof(
	fc.record({ type: fc.constant('subscribed'), executionId: idArb, lastSeq: fc.nat() }),
	fc.record({ type: fc.constant('event'), executionId: idArb, event: storedEventArb }),
	fc.record({ type: fc.constant('events'), executionId: idArb, events: fc.array(storedEventArb, { maxLength: 3 }) }),
	fc.constantFrom({ type: 'pong' }, { type: 'executions-subscribed' }),
	fc.record({ type: fc.constant('execution'), execution: executionArb }),
	fc.record({ type: fc.constant('session'), sessionId: fc.string() }),
	fc.record({ type: fc.constant('error'), code: fc.string(), message: hostileTextArb, executionId: idArb }, { requiredKeys: ['type', 'code', 'message'] })
);

describe('WebSocket messages', () => {
	test('client → server: anything, no throw; accepted frames are one of the five, with a valid id', () => {
		neverThrows(clientMessageSchema, fc.oneof(anyInputArb, mutate(clientMessageArb), mutate(mutate(clientMessageArb))), (message) => {
			expect(['subscribe', 'unsubscribe', 'ping', 'subscribe-executions', 'unsubscribe-executions']).toContain(message.type);
			if ('executionId' in message) expect(isId(message.executionId)).toBe(true);
			if ('since' in message && message.since !== undefined) expect(isCount(message.since)).toBe(true);
			// Strict: nothing else comes along.
			const allowed = message.type === 'subscribe' ? ['type', 'executionId', 'since'] : message.type === 'unsubscribe' ? ['type', 'executionId'] : ['type'];
			for (const key of Object.keys(message)) expect(allowed).toContain(key);
		}, 150);
		roundTrips(clientMessageSchema, clientMessageArb);
	});

	test('server → client: anything, no throw; valid messages accepted unchanged', () => {
		neverThrows(serverMessageSchema, fc.oneof(anyInputArb, mutate(serverMessageArb), mutate(mutate(serverMessageArb))), (message) => {
			if ('executionId' in message && message.executionId !== undefined) expect(isId(message.executionId)).toBe(true);
			if (message.type === 'execution') expect(executionSchema.safeParse(message.execution).success).toBe(true);
		}, 150);
		roundTrips(serverMessageSchema, serverMessageArb);
	});

	test('JSON text of any kind gives a message or a refusal, never a throw', () => {
		fc.assert(
			fc.property(fc.oneof(fc.string(), jsonArb.map((v) => JSON.stringify(v)), clientMessageArb.map((m) => JSON.stringify(m))), (text) => {
				let value: unknown;
				try {
					value = JSON.parse(text);
				} catch {
					return;
				}
				clientMessageSchema.safeParse(value);
				serverMessageSchema.safeParse(value);
			}),
			{ numRuns: RUNS }
		);
	});
});
