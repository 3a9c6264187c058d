import { describe, expect, test } from 'vitest';
import { createExecutionSchema, metadataSchema } from './executions.js';
import {
	MAX_METADATA_ENTRIES,
	MAX_METADATA_KEY_LENGTH,
	MAX_METADATA_VALUE_LENGTH,
	MAX_NAME_LENGTH
} from './limits.js';

describe('createExecutionSchema', () => {
	test('agent as an object keeps extra fields; a bare string is shorthand for { name }', () => {
		expect(createExecutionSchema.parse({ agent: { name: 'a', version: '1.2' } }).agent).toEqual({ name: 'a', version: '1.2' });
		expect(createExecutionSchema.parse({ agent: 'planner' }).agent).toEqual({ name: 'planner' });
		expect(createExecutionSchema.parse({ agent: 'a', department: 'research' }).department).toEqual({ name: 'research' });
	});

	test('names are trimmed and must not be empty or too long', () => {
		expect(createExecutionSchema.parse({ agent: '  spaced  ' }).agent).toEqual({ name: 'spaced' });
		expect(createExecutionSchema.safeParse({ agent: '   ' }).success).toBe(false);
		expect(createExecutionSchema.safeParse({ agent: { name: '' } }).success).toBe(false);
		expect(createExecutionSchema.safeParse({ agent: 'x'.repeat(MAX_NAME_LENGTH + 1) }).success).toBe(false);
	});

	test('agent is required; unknown keys and bad ids are rejected', () => {
		expect(createExecutionSchema.safeParse({}).success).toBe(false);
		expect(createExecutionSchema.safeParse({ agent: 'a', status: 'running' }).success).toBe(false);
		expect(createExecutionSchema.safeParse({ agent: 'a', id: 'has space' }).success).toBe(false);
		expect(createExecutionSchema.parse({ agent: 'a', id: 'run_1' }).id).toBe('run_1');
	});
});

describe('metadataSchema', () => {
	test('string tags within limits pass', () => {
		const meta = Object.fromEntries(Array.from({ length: MAX_METADATA_ENTRIES }, (_, i) => [`k${i}`, `v${i}`]));
		expect(metadataSchema.parse(meta)).toEqual(meta);
		expect(metadataSchema.parse({ ['k'.repeat(MAX_METADATA_KEY_LENGTH)]: 'v'.repeat(MAX_METADATA_VALUE_LENGTH) })).toBeTruthy();
	});

	test('too many entries, long keys, long values, non-strings and empty keys fail', () => {
		const many = Object.fromEntries(Array.from({ length: MAX_METADATA_ENTRIES + 1 }, (_, i) => [`k${i}`, 'v']));
		expect(metadataSchema.safeParse(many).success).toBe(false);
		expect(metadataSchema.safeParse({ ['k'.repeat(MAX_METADATA_KEY_LENGTH + 1)]: 'v' }).success).toBe(false);
		expect(metadataSchema.safeParse({ k: 'v'.repeat(MAX_METADATA_VALUE_LENGTH + 1) }).success).toBe(false);
		expect(metadataSchema.safeParse({ k: 1 }).success).toBe(false);
		expect(metadataSchema.safeParse({ k: { nested: 'x' } }).success).toBe(false);
		expect(metadataSchema.safeParse({ '': 'v' }).success).toBe(false);
	});

	test('is used by the create body', () => {
		expect(createExecutionSchema.safeParse({ agent: 'a', metadata: { env: 'prod' } }).success).toBe(true);
		expect(createExecutionSchema.safeParse({ agent: 'a', metadata: { n: 3 } }).success).toBe(false);
	});
});
