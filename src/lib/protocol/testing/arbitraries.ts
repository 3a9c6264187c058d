/**
 * fast-check arbitraries for the protocol: valid inputs as the contract (docs/protocol.md)
 * describes them, and hostile ones. Test-only; shared by the property tests of the schemas,
 * the ingest path and the viewer session.
 */
import fc from 'fast-check';
import { LOG_LEVELS, STEP_KINDS } from '../events.js';
import { MAX_CANCEL_REASON_LENGTH, MAX_ID_LENGTH, MAX_NAME_LENGTH } from '../limits.js';

/** 1–64 of `[A-Za-z0-9_-]`. */
export const idArb = fc.stringMatching(new RegExp(`^[A-Za-z0-9_-]{1,${MAX_ID_LENGTH}}$`));

/** Strings that look like ids but are not: empty, too long, or with a character outside the set. */
export const badIdArb = fc.oneof(
	fc.constant(''),
	fc.stringMatching(new RegExp(`^[A-Za-z0-9_-]{${MAX_ID_LENGTH + 1},${MAX_ID_LENGTH + 8}}$`)),
	fc.tuple(fc.stringMatching(/^[A-Za-z0-9_-]{0,8}$/), fc.constantFrom(' ', '/', '.', 'é', '\n', '<', '%', '\u0000'), fc.stringMatching(/^[A-Za-z0-9_-]{0,8}$/)).map((parts) => parts.join(''))
);

/** Keys that poke at prototypes, mixed into generated objects. */
export const trickyKeyArb = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '');

/** Text an attacker would try: markup, template syntax, control characters, any Unicode. */
export const hostileTextArb = fc.oneof(
	fc.string({ maxLength: 40 }),
	fc.string({ unit: 'binary', maxLength: 40 }),
	fc.constantFrom(
		'<img src=x onerror=window.__pwned=1>',
		'<script>window.__pwned=1</script>',
		'</script><script>window.__pwned=1</script>',
		'javascript:alert(1)',
		'{{constructor.constructor("return 1")()}}',
		'${process.exit(1)}',
		'\u001b[31mred\u001b[0m',
		'\u2028\u2029',
		'\ud800'
	)
);

/** Any JSON value, with tricky keys among the object keys. */
export const jsonArb: fc.Arbitrary<unknown> = fc.jsonValue({
	maxDepth: 4,
	depthSize: 'small'
});

/** Any value at all that a JSON body, a frame or a query could turn into, and some it could not. */
export const anyInputArb: fc.Arbitrary<unknown> = fc.oneof(
	jsonArb,
	fc.dictionary(fc.oneof(fc.string({ maxLength: 12 }), trickyKeyArb), jsonArb, { maxKeys: 6 }),
	fc.anything({ maxDepth: 3 })
);

/** An ISO-8601 timestamp with a zone, as `z.iso.datetime({ offset: true })` takes it. */
export const timestampArb = fc
	.tuple(
		fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true }),
		fc.constantFrom('Z', '+00:00', '+05:30', '-08:00')
	)
	.map(([date, zone]) => date.toISOString().replace('Z', zone));

export const eventTypeArb = fc.stringMatching(new RegExp(`^[A-Za-z0-9_.:/-]{1,${MAX_NAME_LENGTH}}$`));

const nameArb = fc.string({ minLength: 1, maxLength: MAX_NAME_LENGTH });
const tokenArb = fc.nat({ max: 10_000_000 });
const usageArb = fc.record(
	{ inputTokens: tokenArb, outputTokens: tokenArb, costUsd: fc.double({ min: 0, max: 1000, noNaN: true }) },
	{ requiredKeys: [] }
);

/** Extra fields an agent may add to any core type's `data` (kept, never dropped). */
const extraArb = fc.option(fc.record({ extra: jsonArb, note: hostileTextArb }, { requiredKeys: [] }), { nil: undefined });

function withExtra<T extends object>(data: fc.Arbitrary<T>): fc.Arbitrary<T> {
	return fc.tuple(data, extraArb).map(([d, extra]) => ({ ...extra, ...d }));
}

/** `data` that the contract accepts for each core type (and anything for another type). */
export function dataArb(type: string): fc.Arbitrary<unknown> {
	const optional = (arb: fc.Arbitrary<unknown>) => fc.option(arb, { nil: undefined });
	switch (type) {
		case 'agent-start':
			return optional(withExtra(fc.record({ input: jsonArb }, { requiredKeys: [] })));
		case 'output':
			return withExtra(fc.record({ text: hostileTextArb, stream: fc.string({ maxLength: MAX_NAME_LENGTH }) }, { requiredKeys: ['text'] }));
		case 'log':
			return withExtra(fc.record({ level: fc.constantFrom(...LOG_LEVELS), message: hostileTextArb }));
		case 'step-start':
			return withExtra(fc.record({ name: nameArb, kind: fc.constantFrom(...STEP_KINDS), input: jsonArb }, { requiredKeys: ['name', 'kind'] }));
		case 'step-end':
			return optional(withExtra(fc.record({ output: jsonArb, error: jsonArb, usage: usageArb }, { requiredKeys: [] })));
		case 'usage':
			return withExtra(usageArb);
		case 'agent-complete':
			return optional(withExtra(fc.record({ output: jsonArb }, { requiredKeys: [] })));
		case 'error':
			return withExtra(fc.record({ message: hostileTextArb, stack: hostileTextArb }, { requiredKeys: ['message'] }));
		case 'cancel-requested':
			return optional(withExtra(fc.record({ reason: fc.string({ maxLength: MAX_CANCEL_REASON_LENGTH }) }, { requiredKeys: [] })));
		case 'cancelled':
			return optional(withExtra(fc.record({ reason: hostileTextArb }, { requiredKeys: [] })));
		default:
			return optional(jsonArb);
	}
}

/** Core types whose `data` may not be left out. */
const DATA_REQUIRED = new Set(['output', 'log', 'step-start', 'usage', 'error']);

const CORE_TYPES = ['agent-start', 'output', 'log', 'step-start', 'step-end', 'usage', 'agent-complete', 'error', 'cancel-requested', 'cancelled'];

/** An event input the contract accepts: `{ id?, type, ts?, stepId?, parentStepId?, data? }`. */
export const eventInputArb: fc.Arbitrary<Record<string, unknown>> = fc
	.oneof({ weight: 3, arbitrary: fc.constantFrom(...CORE_TYPES) }, { weight: 1, arbitrary: eventTypeArb })
	.chain((type) =>
		fc.record(
			{
				id: idArb,
				type: fc.constant(type),
				ts: timestampArb,
				stepId: idArb,
				parentStepId: idArb,
				data: dataArb(type)
			},
			{
				requiredKeys: [
					'type',
					...(type === 'step-start' || type === 'step-end' ? (['stepId'] as const) : []),
					...(DATA_REQUIRED.has(type) ? (['data'] as const) : [])
				]
			}
		)
	)
	// `data: undefined` is what an absent field looks like after JSON: drop it.
	.map((event) => Object.fromEntries(Object.entries(event).filter(([, value]) => value !== undefined)));

/** Replaces one field somewhere in a JSON-like value (a top-level one, or one inside `data`) with anything. */
export function mutate(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
	return fc.tuple(valid, fc.nat(), anyInputArb, fc.oneof(fc.string({ maxLength: 10 }), trickyKeyArb), fc.boolean()).map(([value, pick, replacement, newKey, add]) => {
		if (value === null || typeof value !== 'object') return replacement;
		const copy = structuredClone(value) as Record<string, unknown>;
		const targets: Record<string, unknown>[] = [copy];
		for (const inner of Object.values(copy)) if (inner !== null && typeof inner === 'object') targets.push(inner as Record<string, unknown>);
		// Arrays are left as they are: their `length` cannot be redefined (a new key named
		// "length" on one would throw), and an object inside one is reached as a target anyway.
		const objects = targets.filter((t) => !Array.isArray(t));
		if (objects.length === 0) return replacement;
		const target = objects[pick % objects.length]!;
		const keys = Object.keys(target);
		const key = add || keys.length === 0 ? newKey : keys[pick % keys.length]!;
		Object.defineProperty(target, key, { value: replacement, enumerable: true, writable: true, configurable: true });
		return copy;
	});
}
