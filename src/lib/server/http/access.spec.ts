import { describe, expect, test } from 'vitest';
import { Access, isLoopbackHost, isSameOrigin } from './access.js';

const ingestToken = 'ingest-token-0123456789';
const viewerToken = 'viewer-token-0123456789';

describe('Access.canIngest', () => {
	const access = new Access({ ingestToken, host: '127.0.0.1' });

	test('needs the bearer token, exactly', () => {
		expect(access.canIngest({ authorization: `Bearer ${ingestToken}` })).toBe(true);
		expect(access.canIngest({ authorization: `bearer   ${ingestToken}  ` })).toBe(true);
		expect(access.canIngest({})).toBe(false);
		expect(access.canIngest({ authorization: null })).toBe(false);
		expect(access.canIngest({ authorization: ingestToken })).toBe(false); // no scheme
		expect(access.canIngest({ authorization: `Basic ${ingestToken}` })).toBe(false);
		expect(access.canIngest({ authorization: `Bearer ${ingestToken}x` })).toBe(false);
		expect(access.canIngest({ authorization: `Bearer ${ingestToken.slice(0, -1)}` })).toBe(false);
		expect(access.canIngest({ authorization: 'Bearer ' })).toBe(false);
	});

	test('is never granted by a query token or cookie (a page on another origin could send those)', () => {
		expect(access.canIngest({ queryToken: ingestToken })).toBe(false);
		expect(access.canIngest({ cookie: `runwatch_viewer=${ingestToken}` })).toBe(false);
	});

	test('is needed even when viewing is open', () => {
		expect(access.viewingIsOpen).toBe(true);
		expect(access.canIngest({})).toBe(false);
	});
});

describe('Access.canView', () => {
	test('open on loopback with no viewer token', () => {
		for (const host of ['127.0.0.1', '127.0.0.5', 'localhost', '::1']) {
			const access = new Access({ ingestToken, host });
			expect(access.viewingIsOpen).toBe(true);
			expect(access.canView({})).toBe(true);
		}
	});

	test('closed on a public bind without a viewer token, except to the ingest token', () => {
		for (const host of ['0.0.0.0', '::', '192.168.1.4', 'example.com']) {
			const access = new Access({ ingestToken, host });
			expect(access.viewingIsOpen).toBe(false);
			expect(access.canView({})).toBe(false);
			expect(access.canView({ queryToken: 'anything' })).toBe(false);
			expect(access.canView({ authorization: `Bearer ${ingestToken}` })).toBe(true);
		}
	});

	test('a viewer token closes viewing even on loopback; it is accepted as bearer, cookie or query', () => {
		const access = new Access({ ingestToken, host: '127.0.0.1', viewerToken });
		expect(access.viewingIsOpen).toBe(false);
		expect(access.canView({})).toBe(false);
		expect(access.canView({ authorization: `Bearer ${viewerToken}` })).toBe(true);
		expect(access.canView({ cookie: `a=b; runwatch_viewer=${encodeURIComponent(viewerToken)}; c=d` })).toBe(true);
		expect(access.canView({ queryToken: viewerToken })).toBe(true);
		expect(access.canView({ authorization: `Bearer ${ingestToken}` })).toBe(true);
		expect(access.canView({ queryToken: 'wrong' })).toBe(false);
		expect(access.canView({ cookie: 'runwatch_viewer=wrong' })).toBe(false);
		expect(access.canView({ cookie: `other_runwatch_viewer=${viewerToken}` })).toBe(false);
		// The viewer token does not grant ingest.
		expect(access.canIngest({ authorization: `Bearer ${viewerToken}` })).toBe(false);
	});
});

describe('Access.canWrite (cancel, delete)', () => {
	test('open loopback server: the ingest token, or a page of this server; not a program without a token', () => {
		const access = new Access({ ingestToken, host: '127.0.0.1' });
		expect(access.canWrite({ authorization: `Bearer ${ingestToken}` }, false)).toBe(true);
		expect(access.canWrite({}, true)).toBe(true);
		expect(access.canWrite({}, false)).toBe(false);
	});

	test('with a viewer token: the ingest or the viewer token, wherever from; a same-origin page alone is not enough', () => {
		const access = new Access({ ingestToken, host: '127.0.0.1', viewerToken });
		expect(access.canWrite({ authorization: `Bearer ${ingestToken}` }, false)).toBe(true);
		expect(access.canWrite({ cookie: `runwatch_viewer=${viewerToken}` }, true)).toBe(true);
		expect(access.canWrite({ authorization: `Bearer ${viewerToken}` }, false)).toBe(true);
		expect(access.canWrite({}, true)).toBe(false);
		expect(access.canWrite({ authorization: 'Bearer wrong' }, true)).toBe(false);
	});
});

test('isLoopbackHost', () => {
	for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopbackHost(host)).toBe(true);
	for (const host of ['0.0.0.0', '::', '10.0.0.1', 'localhost.example.com', '128.0.0.1']) expect(isLoopbackHost(host)).toBe(false);
});

describe('isSameOrigin', () => {
	test('no Origin header (not a browser) is accepted', () => {
		expect(isSameOrigin(undefined, '127.0.0.1:3000')).toBe(true);
	});

	test('same host and port is accepted; another host, port or junk is refused', () => {
		expect(isSameOrigin('http://127.0.0.1:3000', '127.0.0.1:3000')).toBe(true);
		expect(isSameOrigin('http://evil.example', '127.0.0.1:3000')).toBe(false);
		expect(isSameOrigin('http://127.0.0.1:3001', '127.0.0.1:3000')).toBe(false);
		expect(isSameOrigin('http://localhost:3000', '127.0.0.1:3000')).toBe(false);
		expect(isSameOrigin('null', '127.0.0.1:3000')).toBe(false);
		expect(isSameOrigin('not a url', '127.0.0.1:3000')).toBe(false);
		expect(isSameOrigin('http://127.0.0.1:3000', undefined)).toBe(false);
	});

	test('the configured ORIGIN is accepted whatever the Host', () => {
		expect(isSameOrigin('https://runwatch.example', '10.0.0.5:3000', 'https://runwatch.example')).toBe(true);
		expect(isSameOrigin('https://evil.example', '10.0.0.5:3000', 'https://runwatch.example')).toBe(false);
	});
});
