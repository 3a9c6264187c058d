import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { responseWithHeaders } from './secure-response.js';

const SECURITY = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'same-origin', 'content-security-policy': "default-src 'none'" };

let server: http.Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** The raw head (names as sent, repeats kept) of a GET to a server answering with `answer`. */
async function rawHeadOf(answer: (res: http.ServerResponse) => void): Promise<{ status: number; message: string; raw: [string, string][] }> {
	server = http.createServer({ ServerResponse: responseWithHeaders(SECURITY) }, (_req, res) => answer(res));
	await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return new Promise((resolve, reject) => {
		http.get({ host: '127.0.0.1', port, agent: false }, (res) => {
			res.resume();
			const raw: [string, string][] = [];
			for (let i = 0; i < res.rawHeaders.length; i += 2) raw.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
			resolve({ status: res.statusCode!, message: res.statusMessage!, raw });
		}).on('error', reject);
	});
}

const valuesOf = (raw: [string, string][], name: string) => raw.filter(([n]) => n === name).map(([, v]) => v);

test('writeHead with an object: the security headers are added, once each, beside the given ones', async () => {
	const { status, raw } = await rawHeadOf((res) => {
		res.writeHead(201, { 'content-type': 'application/json' });
		res.end('{}');
	});
	expect(status).toBe(201);
	for (const [name, value] of Object.entries(SECURITY)) expect(valuesOf(raw, name), name).toEqual([value]);
	expect(valuesOf(raw, 'content-type')).toEqual(['application/json']);
});

test('a header the response sets itself wins, whatever its case or however it was set', async () => {
	const given = await rawHeadOf((res) => {
		res.writeHead(200, 'Fine', { 'Content-Security-Policy': "script-src 'self'", 'Referrer-Policy': 'no-referrer' });
		res.end();
	});
	expect(given.message).toBe('Fine');
	expect(valuesOf(given.raw, 'content-security-policy')).toEqual(["script-src 'self'"]);
	expect(valuesOf(given.raw, 'referrer-policy')).toEqual(['no-referrer']);
	expect(valuesOf(given.raw, 'x-content-type-options')).toEqual(['nosniff']);

	// SvelteKit's way: setHeader for each, then writeHead(status).
	const set = await rawHeadOf((res) => {
		res.setHeader('content-security-policy', "script-src 'nonce-abc'");
		res.writeHead(404);
		res.end();
	});
	expect(set.status).toBe(404);
	expect(valuesOf(set.raw, 'content-security-policy')).toEqual(["script-src 'nonce-abc'"]);
	expect(valuesOf(set.raw, 'referrer-policy')).toEqual(['same-origin']);
});

test('an implicit head (end without writeHead) and the raw array form get them too', async () => {
	const implicit = await rawHeadOf((res) => {
		res.statusCode = 204;
		res.end();
	});
	expect(implicit.status).toBe(204);
	for (const [name, value] of Object.entries(SECURITY)) expect(valuesOf(implicit.raw, name), name).toEqual([value]);

	const array = await rawHeadOf((res) => {
		res.writeHead(200, ['Content-Type', 'text/plain', 'X-Content-Type-Options', 'nosniff']);
		res.end('x');
	});
	expect(valuesOf(array.raw, 'x-content-type-options')).toEqual(['nosniff']);
	expect(valuesOf(array.raw, 'referrer-policy')).toEqual(['same-origin']);
	expect(valuesOf(array.raw, 'content-type')).toEqual(['text/plain']);
});
