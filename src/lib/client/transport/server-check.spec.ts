import { describe, expect, it, vi } from 'vitest';
import { checkServer, classifyStatus } from './server-check.js';

describe('classifyStatus', () => {
	it('401 and 403 are forbidden, 5xx down, anything else up', () => {
		expect(classifyStatus(401)).toBe('forbidden');
		expect(classifyStatus(403)).toBe('forbidden');
		for (const status of [500, 502, 503, 504]) expect(classifyStatus(status)).toBe('down');
		for (const status of [200, 204, 404, 405, 426]) expect(classifyStatus(status)).toBe('up');
	});
});

describe('checkServer', () => {
	it('sends one HEAD with the page credentials and classifies the status', async () => {
		const fetch = vi.fn(async () => new Response(null, { status: 401 }));
		expect(await checkServer('https://runwatch.test/api/sse?token=x', { fetch: fetch as unknown as typeof globalThis.fetch })).toBe(
			'forbidden'
		);
		expect(fetch).toHaveBeenCalledTimes(1);
		const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
		expect(url).toBe('https://runwatch.test/api/sse?token=x');
		expect(init).toMatchObject({ method: 'HEAD', credentials: 'same-origin', cache: 'no-store' });
	});

	it('a network error is down', async () => {
		const fetch = vi.fn(async () => {
			throw new TypeError('Failed to fetch');
		});
		expect(await checkServer('https://runwatch.test/api/sse', { fetch: fetch as unknown as typeof globalThis.fetch })).toBe('down');
	});

	it('gives up after timeoutMs: down', async () => {
		vi.useFakeTimers();
		try {
			const fetch = vi.fn(
				(_url: string, init: RequestInit) =>
					new Promise<Response>((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(new Error('aborted'))))
			);
			const result = checkServer('https://runwatch.test/api/sse', { fetch: fetch as unknown as typeof globalThis.fetch, timeoutMs: 100 });
			await vi.advanceTimersByTimeAsync(100);
			expect(await result).toBe('down');
		} finally {
			vi.useRealTimers();
		}
	});
});
