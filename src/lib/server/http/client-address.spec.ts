import type { IncomingMessage } from 'node:http';
import { describe, expect, test } from 'vitest';
import { clientAddressOfNode } from './client-address.js';

function request(headers: Record<string, string>, remoteAddress = '127.0.0.1') {
	return { headers, socket: { remoteAddress } } as unknown as Pick<IncomingMessage, 'headers' | 'socket'>;
}

describe('clientAddressOfNode', () => {
	test('the socket peer unless a header is configured; forwarded headers are not trusted by default', () => {
		expect(clientAddressOfNode(request({ 'x-forwarded-for': '203.0.113.9' }, '10.0.0.5'), { xffDepth: 1 })).toBe('10.0.0.5');
	});

	test('X-Forwarded-For: the entry XFF_DEPTH from the right', () => {
		const options = { addressHeader: 'x-forwarded-for', xffDepth: 1 };
		expect(clientAddressOfNode(request({ 'x-forwarded-for': 'spoofed, 203.0.113.9' }), options)).toBe('203.0.113.9');
		expect(clientAddressOfNode(request({ 'x-forwarded-for': 'a, 203.0.113.9, 10.0.0.2' }), { ...options, xffDepth: 2 })).toBe('203.0.113.9');
		expect(clientAddressOfNode(request({ 'x-forwarded-for': '203.0.113.9' }), { ...options, xffDepth: 3 })).toBe('203.0.113.9');
	});

	test('another header is taken whole; an absent one falls back to the socket', () => {
		expect(clientAddressOfNode(request({ 'x-real-ip': ' 198.51.100.7 ' }), { addressHeader: 'x-real-ip', xffDepth: 1 })).toBe('198.51.100.7');
		expect(clientAddressOfNode(request({}, '::1'), { addressHeader: 'x-real-ip', xffDepth: 1 })).toBe('::1');
	});
});
