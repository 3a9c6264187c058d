import { afterEach, describe, expect, test } from 'vitest';
import { createSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { Access, type Principal } from './access.js';
import { isLoopbackHost, isSameOrigin, isSameOriginPage, parseCookies, SESSION_COOKIE, SHARE_COOKIE_PREFIX } from './credentials.js';

const ingestToken = 'ingest-token-0123456789';
const viewerToken = 'viewer-token-0123456789';

let store: Store;
const made: Access[] = [];

async function setup(options: { host?: string; viewerToken?: string; sweepMs?: number } = {}): Promise<Access> {
	store = createSqliteStore({ file: ':memory:' });
	for (const id of ['r1', 'r2']) {
		await store.createExecution({ id, agent: { name: 'a' }, metadata: {}, createdAt: new Date().toISOString() });
	}
	const access = new Access({ ingestToken, host: options.host ?? '127.0.0.1', viewerToken: options.viewerToken, store, sweepMs: options.sweepMs });
	made.push(access);
	return access;
}

afterEach(async () => {
	for (const access of made.splice(0)) access.close();
	await store?.close();
});

describe('Access.canIngest', () => {
	test('needs the bearer token, exactly', async () => {
		const access = await setup();
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

	test('is never granted by a cookie (a page on another origin could make the browser send one)', async () => {
		const access = await setup();
		expect(access.canIngest({ cookie: `${SESSION_COOKIE}=${ingestToken}` })).toBe(false);
		expect(access.viewingIsOpen).toBe(true);
		expect(access.canIngest({})).toBe(false);
	});
});

describe('Access.resolve and mayView', () => {
	test('open on loopback with no viewer token', async () => {
		for (const host of ['127.0.0.1', '127.0.0.5', 'localhost', '::1']) {
			const access = await setup({ host });
			expect(access.viewingIsOpen).toBe(true);
			const principal = await access.resolve({});
			expect(principal).toEqual({ kind: 'open' });
			expect(access.mayView(principal)).toBe(true);
			expect(access.mayView(principal, 'r1')).toBe(true);
		}
	});

	test('closed on a public bind without a viewer token, except to the ingest token', async () => {
		for (const host of ['0.0.0.0', '::', '192.168.1.4', 'example.com']) {
			const access = await setup({ host });
			expect(access.viewingIsOpen).toBe(false);
			expect(await access.resolve({})).toEqual({ kind: 'anonymous' });
			expect(access.mayView(await access.resolve({ authorization: 'Bearer anything' }))).toBe(false);
			expect(access.mayView(await access.resolve({ authorization: `Bearer ${ingestToken}` }))).toBe(true);
		}
	});

	test('a viewer token closes viewing even on loopback; as a bearer it views, never ingests', async () => {
		const access = await setup({ viewerToken });
		expect(access.viewingIsOpen).toBe(false);
		expect(await access.resolve({})).toEqual({ kind: 'anonymous' });
		expect(await access.resolve({ authorization: `Bearer ${viewerToken}` })).toEqual({ kind: 'viewer' });
		expect(await access.resolve({ authorization: `Bearer ${ingestToken}` })).toEqual({ kind: 'ingest' });
		// The raw token in a cookie is not a session.
		expect(await access.resolve({ cookie: `${SESSION_COOKIE}=${viewerToken}` })).toEqual({ kind: 'anonymous' });
		expect(access.canIngest({ authorization: `Bearer ${viewerToken}` })).toBe(false);
	});
});

describe('sign-in sessions', () => {
	test('a session cookie views until it signs out; a forged or altered one never does', async () => {
		const access = await setup({ host: '0.0.0.0', viewerToken });
		const { cookieValue, sessionId } = await access.sessions!.signIn();
		const principal = await access.resolve({ cookie: `x=1; ${SESSION_COOKIE}=${encodeURIComponent(cookieValue)}` });
		expect(principal).toMatchObject({ kind: 'viewer', sessionId });
		expect(access.mayView(principal)).toBe(true);
		expect(access.mayWrite(principal, false)).toBe(true);

		const [token, expiry, signature] = cookieValue.split('.');
		for (const forged of [`${token}.${Number(expiry) + 1000}.${signature}`, `${token}x.${expiry}.${signature}`, 'a.b.c', 'nonsense']) {
			expect(await access.resolve({ cookie: `${SESSION_COOKIE}=${forged}` })).toEqual({ kind: 'anonymous' });
		}
		expect(await access.sessions!.signOut(cookieValue)).toBe(sessionId);
		expect(await access.resolve({ cookie: `${SESSION_COOKIE}=${cookieValue}` })).toEqual({ kind: 'anonymous' });
	});

	test('a session signed with another viewer token is refused (changing the token signs everyone out)', async () => {
		const first = await setup({ viewerToken });
		const { cookieValue } = await first.sessions!.signIn();
		const second = new Access({ ingestToken, host: '0.0.0.0', viewerToken: 'another-viewer-token-99', store });
		made.push(second);
		expect(await second.resolve({ cookie: `${SESSION_COOKIE}=${cookieValue}` })).toEqual({ kind: 'anonymous' });
	});

	test('an expired session does not view', async () => {
		const access = await setup({ viewerToken });
		const { cookieValue, expiresAt } = await access.sessions!.signIn(Date.now() - 8 * 24 * 3600 * 1000);
		expect(expiresAt).toBeLessThan(Date.now());
		expect(await access.resolve({ cookie: `${SESSION_COOKIE}=${cookieValue}` })).toEqual({ kind: 'anonymous' });
	});
});

describe('share links', () => {
	test('a share views its one execution, read-only, by cookie or bearer; revoked or expired, nothing', async () => {
		const access = await setup({ host: '0.0.0.0', viewerToken });
		const { share, token } = await access.shares.create('r1', undefined);
		expect(token).toMatch(/^rws_[A-Za-z0-9_-]{43}$/);
		for (const credentials of [{ cookie: `${SHARE_COOKIE_PREFIX}${share.id}=${token}` }, { authorization: `Bearer ${token}` }]) {
			const principal = await access.resolve(credentials);
			expect(principal).toEqual({ kind: 'shares', grants: [{ shareId: share.id, executionId: 'r1' }] });
			expect(access.mayView(principal, 'r1')).toBe(true);
			expect(access.mayView(principal, 'r2')).toBe(false);
			expect(access.mayView(principal)).toBe(false); // the list
			expect(access.mayWrite(principal, true)).toBe(false);
		}
		expect(await access.shares.revoke('r1', share.id)).toBe(true);
		expect(await access.resolve({ authorization: `Bearer ${token}` })).toEqual({ kind: 'anonymous' });

		const short = await access.shares.create('r2', 60, Date.now() - 61_000);
		expect(await access.resolve({ authorization: `Bearer ${short.token}` })).toEqual({ kind: 'anonymous' });
		expect(await access.resolve({ authorization: 'Bearer rws_guessed' })).toEqual({ kind: 'anonymous' });
	});

	test('the store keeps no token, only its hash', async () => {
		const access = await setup({ viewerToken });
		const { share, token } = await access.shares.create('r1', 3600);
		const stored = await store.listShares('r1');
		expect(stored).toEqual([share]);
		expect(JSON.stringify(stored)).not.toContain(token);
	});
});

describe('mayWrite', () => {
	test('on an open server only a page of this server may write without a token', async () => {
		const access = await setup();
		const open: Principal = await access.resolve({});
		expect(access.mayWrite(open, true)).toBe(true);
		expect(access.mayWrite(open, false)).toBe(false);
		expect(access.mayWrite({ kind: 'ingest' }, false)).toBe(true);
		expect(access.mayWrite({ kind: 'anonymous' }, true)).toBe(false);
	});
});

describe('live connections lose access from one place', () => {
	test('recheck: a sign-out or revocation whose news was missed (another node, bus down) takes effect from the store', async () => {
		const access = await setup({ viewerToken });
		const calls: string[] = [];
		const kept = await access.sessions!.signIn();
		const ended = await access.sessions!.signIn();
		const asViewer = async (cookieValue: string) => access.resolve({ cookie: `${SESSION_COOKIE}=${cookieValue}` });
		access.track(await asViewer(kept.cookieValue), (reason) => calls.push(`kept:${reason}`));
		access.track(await asViewer(ended.cookieValue), (reason) => calls.push(`ended:${reason}`));
		const live = await access.shares.create('r1', undefined);
		const revoked = await access.shares.create('r1', undefined);
		access.track({ kind: 'shares', grants: [{ shareId: live.share.id, executionId: 'r1' }] }, (reason) => calls.push(`live:${reason}`));
		access.track({ kind: 'shares', grants: [{ shareId: revoked.share.id, executionId: 'r1' }] }, (reason) => calls.push(`revoked:${reason}`));
		// Done elsewhere: straight in the store, no news here.
		await store.deleteViewerSession(ended.sessionId);
		await store.revokeShare('r1', revoked.share.id, new Date().toISOString());
		await access.recheck();
		expect(calls.sort()).toEqual(['ended:signed-out', 'revoked:share-revoked']);
		await access.recheck();
		expect(calls).toHaveLength(2);
	});

	test('sign-out, a revoked share and expiry each call onForbidden once; untracked ones never', async () => {
		const access = await setup({ viewerToken, sweepMs: 20 });
		const calls: string[] = [];
		const session = await access.sessions!.signIn();
		const viewer = await access.resolve({ cookie: `${SESSION_COOKIE}=${session.cookieValue}` });
		access.track(viewer, (reason) => calls.push(`viewer:${reason}`));
		const { share } = await access.shares.create('r1', undefined);
		const holder: Principal = { kind: 'shares', grants: [{ shareId: share.id, executionId: 'r1' }] };
		access.track(holder, (reason) => calls.push(`share:${reason}`));
		const gone = access.track(holder, (reason) => calls.push(`untracked:${reason}`));
		gone();
		// Principals that cannot lose access are not kept.
		access.track({ kind: 'ingest' }, () => calls.push('ingest'));
		access.track({ kind: 'viewer' }, () => calls.push('bearer'));

		access.sessionEnded('someone-else');
		access.shareRevoked('another-share');
		expect(calls).toEqual([]);
		access.sessionEnded((viewer as { sessionId: string }).sessionId);
		access.shareRevoked(share.id);
		access.shareRevoked(share.id);
		expect(calls).toEqual(['viewer:signed-out', 'share:share-revoked']);

		const expiring: Principal = { kind: 'shares', grants: [{ shareId: 'x', executionId: 'r1', expiresAt: Date.now() + 50 }] };
		access.track(expiring, (reason) => calls.push(`expiring:${reason}`));
		await new Promise((r) => setTimeout(r, 200));
		expect(calls).toEqual(['viewer:signed-out', 'share:share-revoked', 'expiring:share-expired']);
	});
});

test('parseCookies: names to decoded values, the first of a repeated name, junk skipped', () => {
	const cookies = parseCookies('a=1; b=%20x; a=2; bad; c=%E0%A4%A; =v');
	expect([...cookies]).toEqual([
		['a', '1'],
		['b', ' x']
	]);
});

test('isSameOriginPage needs an Origin header', () => {
	expect(isSameOriginPage(undefined, '127.0.0.1:3000')).toBe(false);
	expect(isSameOriginPage('http://127.0.0.1:3000', '127.0.0.1:3000')).toBe(true);
	expect(isSameOriginPage('http://evil.example', '127.0.0.1:3000')).toBe(false);
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
