/**
 * Custom event types that look like a misspelt core type (`agent-completed`, `Agent_Complete`,
 * `step-started`). They are stored as sent, as custom events, so they do not move the
 * execution's status: an agent that "completes" that way stays running for ever. The answer to
 * the POST says so, once per type.
 */
import { distance } from 'fastest-levenshtein';
import { CORE_EVENT_TYPES, isCoreEventType, type CoreEventType } from '../../protocol/events.js';

/** Edits (insertions, deletions, substitutions) within which a type counts as a near miss. */
const NEAR_EDITS = 2;
/** Types shorter than this are compared only after normalising (`logs` may well be meant). */
const MIN_FUZZY_LENGTH = 5;
/** Remembered answers, so that a stream of one custom type costs one lookup per event. */
const MAX_REMEMBERED = 1000;

const remembered = new Map<string, CoreEventType | null>();

/** The core type `type` was probably meant to be, or undefined (a core type, or a custom one). */
export function likelyCoreType(type: string): CoreEventType | undefined {
	if (isCoreEventType(type)) return undefined;
	let hit = remembered.get(type);
	if (hit === undefined) {
		hit = nearest(type) ?? null;
		if (remembered.size >= MAX_REMEMBERED) remembered.clear();
		remembered.set(type, hit);
	}
	return hit ?? undefined;
}

function nearest(type: string): CoreEventType | undefined {
	const normal = type.toLowerCase().replace(/[_.:/\s]+/g, '-');
	if (isCoreEventType(normal)) return normal;
	if (normal.length < MIN_FUZZY_LENGTH) return undefined;
	let best: CoreEventType | undefined;
	let bestEdits = NEAR_EDITS + 1;
	for (const core of CORE_EVENT_TYPES) {
		const edits = distance(normal, core);
		if (edits < bestEdits) {
			best = core;
			bestEdits = edits;
		}
	}
	return best;
}

/** One sentence per distinct near-miss type among the events' types, in the order they first appear. */
export function typeWarnings(events: readonly { type: string }[]): string[] {
	const warnings: string[] = [];
	let seen: Set<string> | undefined;
	for (const { type } of events) {
		// Core types, nearly every event, cost one lookup and no allocation.
		if (isCoreEventType(type) || seen?.has(type)) continue;
		(seen ??= new Set()).add(type);
		const meant = likelyCoreType(type);
		if (meant) warnings.push(`"${type}" is not a core event type, so it was stored as a custom event and changes nothing in the execution's status; did you mean "${meant}"?`);
	}
	return warnings;
}
