import { describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../protocol/codes.js';
import { closeDecision } from './close-policy.js';

describe('closeDecision', () => {
	it('comes back at once when the server goes away on purpose', () => {
		expect(closeDecision(CLOSE_CODES.goingAway)).toEqual({ action: 'reconnect', delay: 'now' });
		expect(closeDecision(1012)).toEqual({ action: 'reconnect', delay: 'now' });
		expect(closeDecision(CLOSE_CODES.goingAway, 5_000)).toEqual({ action: 'reconnect', delay: 'now' });
	});

	it('backs off when a server sends us away right after accepting (no reconnect loop)', () => {
		expect(closeDecision(CLOSE_CODES.goingAway, 200)).toEqual({ action: 'reconnect', delay: 'backoff' });
	});

	it('backs off after failures', () => {
		for (const code of [1000, 1006, CLOSE_CODES.unsupportedData, CLOSE_CODES.messageTooBig, CLOSE_CODES.internalError, 1013]) {
			expect(closeDecision(code)).toEqual({ action: 'reconnect', delay: 'backoff' });
		}
	});

	it('gives up when the server forbids viewing', () => {
		expect(closeDecision(CLOSE_CODES.forbidden)).toMatchObject({ action: 'final', forbidden: true });
		expect(closeDecision(4400)).toMatchObject({ action: 'final', forbidden: false });
	});
});
