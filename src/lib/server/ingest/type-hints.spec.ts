import { expect, test } from 'vitest';
import { CORE_EVENT_TYPES } from '../../protocol/events.js';
import { likelyCoreType, typeWarnings } from './type-hints.js';

test('a misspelt core type is named; core types and ordinary custom types are not', () => {
	expect(likelyCoreType('agent-completed')).toBe('agent-complete');
	expect(likelyCoreType('Agent_Complete')).toBe('agent-complete');
	expect(likelyCoreType('step-started')).toBe('step-start');
	expect(likelyCoreType('step.end')).toBe('step-end');
	expect(likelyCoreType('USAGE')).toBe('usage');
	expect(likelyCoreType('Cancelled')).toBe('cancelled');
	for (const type of CORE_EVENT_TYPES) expect(likelyCoreType(type)).toBeUndefined();
	for (const type of ['my.custom', 'vendor:thing/v2', 'retrieval', 'tool-call', 'thought', 'logs', 'plan']) expect(likelyCoreType(type), type).toBeUndefined();
});

test('one warning per misspelt type, in the order sent, none for a clean batch', () => {
	const events = (...types: string[]) => types.map((type) => ({ type }));
	expect(typeWarnings(events('output', 'agent-completed', 'my.custom', 'agent-completed', 'step-started'))).toEqual([
		`"agent-completed" is not a core event type, so it was stored as a custom event and changes nothing in the execution's status; did you mean "agent-complete"?`,
		`"step-started" is not a core event type, so it was stored as a custom event and changes nothing in the execution's status; did you mean "step-start"?`
	]);
	expect(typeWarnings(events('agent-start', 'output', 'my.custom', 'agent-complete'))).toEqual([]);
});
