import { describe, expect, test } from 'vitest';
import { parseFrameAncestors, secureResponse, securityHeaders } from './security-headers.js';

describe('parseFrameAncestors', () => {
	test("defaults to 'none'", () => {
		expect(parseFrameAncestors(undefined)).toBe("'none'");
		expect(parseFrameAncestors('  ')).toBe("'none'");
	});

	test('takes self and none with or without quotes, and origins separated by spaces or commas', () => {
		expect(parseFrameAncestors("'self'")).toBe("'self'");
		expect(parseFrameAncestors('self')).toBe("'self'");
		expect(parseFrameAncestors('none')).toBe("'none'");
		expect(parseFrameAncestors("self https://wiki.example.com, https://*.example.org:8443 http://localhost:8080/")).toBe(
			"'self' https://wiki.example.com https://*.example.org:8443 http://localhost:8080"
		);
		expect(parseFrameAncestors('https://A.example.com https://a.example.com')).toBe('https://a.example.com');
	});

	test('refuses anything that is not an origin, with a sentence naming the variable', () => {
		for (const bad of [
			"'none'; script-src *",
			'https://example.com/path',
			'example.com',
			'javascript:alert(1)',
			'*',
			"'unsafe-inline'",
			'https://exa mple.com;',
			"'none' https://example.com"
		]) {
			expect(() => parseFrameAncestors(bad), bad).toThrow(/^RUNWATCH_FRAME_ANCESTORS must be/);
		}
	});
});

describe('secureResponse', () => {
	test('a page keeps its policy and gains frame-ancestors; nosniff and Referrer-Policy are set', () => {
		const page = new Response('<html></html>', {
			headers: { 'content-type': 'text/html', 'content-security-policy': "script-src 'self' 'nonce-abc'" }
		});
		const secured = secureResponse(page, 'https://wiki.example.com');
		expect(secured.headers.get('content-security-policy')).toBe("script-src 'self' 'nonce-abc'; frame-ancestors https://wiki.example.com");
		expect(secured.headers.get('x-content-type-options')).toBe('nosniff');
		expect(secured.headers.get('referrer-policy')).toBe('same-origin');
	});

	test('anything else gets the inert fallback policy', () => {
		const secured = secureResponse(Response.json({ ok: true }), "'none'");
		expect(secured.headers.get('content-security-policy')).toBe(securityHeaders("'none'")['content-security-policy']);
		expect(secured.headers.get('content-security-policy')).toContain("default-src 'none'");
		expect(secured.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
	});

	test("a route's own Referrer-Policy is kept", () => {
		const redirect = new Response(null, { status: 303, headers: { location: '/executions/x', 'referrer-policy': 'no-referrer' } });
		expect(secureResponse(redirect, "'none'").headers.get('referrer-policy')).toBe('no-referrer');
	});

	test('a response with immutable headers is copied', async () => {
		const redirect = Response.redirect('http://localhost/x', 302);
		const secured = secureResponse(redirect, "'none'");
		expect(secured.status).toBe(302);
		expect(secured.headers.get('location')).toBe('http://localhost/x');
		expect(secured.headers.get('x-content-type-options')).toBe('nosniff');
	});
});
