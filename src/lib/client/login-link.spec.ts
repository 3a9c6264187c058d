import { describe, expect, it } from 'vitest';
import { loginHref } from './login-link.js';

describe('loginHref', () => {
	it('links to /login with the current path, query and hash as next', () => {
		expect(loginHref(new URL('http://x/executions/run-1?event=12#seq-12'))).toBe(
			`/login?next=${encodeURIComponent('/executions/run-1?event=12#seq-12')}`
		);
		expect(loginHref(new URL('http://x/'))).toBe('/login?next=%2F');
	});

	it('leaves a share token out', () => {
		expect(loginHref(new URL('http://x/executions/run-1?token=secret&transport=sse'))).toBe(
			`/login?next=${encodeURIComponent('/executions/run-1?transport=sse')}`
		);
	});
});
