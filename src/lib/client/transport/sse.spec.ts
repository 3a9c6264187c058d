import { describe, expect, it, vi } from 'vitest';
import { fakeEvent } from '../testing/fake-transport.js';
import { createSseTransportFactory, sseUrl } from './sse.js';
import type { TransportCallbacks } from './transport.js';

/** Just enough of the browser EventSource for the transport. */
class FakeEventSource {
	static instances: FakeEventSource[] = [];
	readonly url: string;
	onmessage: ((event: MessageEvent) => void) | null = null;
	onerror: ((event: Event) => void) | null = null;
	closed = false;
	constructor(url: string) {
		this.url = url;
		FakeEventSource.instances.push(this);
	}
	close() {
		this.closed = true;
	}
	emit(data: unknown) {
		this.onmessage?.({ data: typeof data === 'string' ? data : JSON.stringify(data) } as MessageEvent);
	}
	fail() {
		this.onerror?.(new Event('error'));
	}
}

interface Post {
	url: string;
	init: RequestInit;
	body: unknown;
}

/** A fetch that records POSTs (and every request) and answers them when told (default 202). */
function fakeFetch() {
	const posts: Post[] = [];
	const requests: { url: string; init: RequestInit }[] = [];
	let answer: () => Promise<Response> = async () => new Response(null, { status: 202 });
	const fn = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
		requests.push({ url: String(url), init: init! });
		if (init?.method === 'POST') posts.push({ url: String(url), init: init!, body: JSON.parse(String(init!.body)) });
		return answer();
	});
	return {
		fetch: fn as unknown as typeof fetch,
		posts,
		requests,
		answerWith(next: () => Promise<Response>) {
			answer = next;
		}
	};
}

function callbacks() {
	return {
		onOpen: vi.fn<TransportCallbacks['onOpen']>(),
		onMessage: vi.fn<TransportCallbacks['onMessage']>(),
		onInvalidMessage: vi.fn<TransportCallbacks['onInvalidMessage']>(),
		onClose: vi.fn<TransportCallbacks['onClose']>()
	} satisfies TransportCallbacks;
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function setup(url = 'https://runwatch.test/api/sse') {
	FakeEventSource.instances = [];
	const net = fakeFetch();
	const factory = createSseTransportFactory({
		url: () => url,
		EventSource: FakeEventSource as unknown as typeof EventSource,
		fetch: net.fetch
	});
	const transport = factory.create(7);
	const cb = callbacks();
	transport.connect(cb);
	const source = FakeEventSource.instances.at(-1)!;
	return { factory, transport, cb, source, net };
}

describe('SseTransport', () => {
	it('is named sse, opens the stream at the URL, and reports open only on the session message', () => {
		const { transport, cb, source } = setup();
		expect(transport.name).toBe('sse');
		expect(transport.id).toBe(7);
		expect(source.url).toBe('https://runwatch.test/api/sse');
		expect(cb.onOpen).not.toHaveBeenCalled();
		source.emit({ type: 'session', sessionId: 'abc' });
		expect(cb.onOpen).toHaveBeenCalledTimes(1);
		expect(cb.onOpen).toHaveBeenCalledWith(7);
		expect(cb.onMessage).not.toHaveBeenCalled(); // the session message is the transport's own
	});

	it('passes server messages on, parsed and validated; bad ones are reported, not fatal', () => {
		const { cb, source } = setup();
		source.emit({ type: 'session', sessionId: 'abc' });
		source.emit({ type: 'subscribed', executionId: 'run-1', lastSeq: 3 });
		source.emit({ type: 'events', executionId: 'run-1', events: [fakeEvent(4), fakeEvent(5)] });
		source.emit('not json');
		source.emit({ type: 'events', executionId: 'run-1' });
		source.emit({ type: 'pong' });
		expect(cb.onMessage.mock.calls.map(([id, m]) => [id, m.type])).toEqual([
			[7, 'subscribed'],
			[7, 'events'],
			[7, 'pong']
		]);
		expect(cb.onMessage.mock.calls[1]![1]).toEqual({
			type: 'events',
			executionId: 'run-1',
			events: [fakeEvent(4), fakeEvent(5)]
		});
		expect(cb.onInvalidMessage).toHaveBeenCalledTimes(2);
		expect(cb.onClose).not.toHaveBeenCalled();
	});

	it('sends the messages of one turn in one POST to /api/sse/<sessionId>, as JSON', async () => {
		const { transport, source, net } = setup();
		source.emit({ type: 'session', sessionId: 's/1' });
		transport.send({ type: 'subscribe', executionId: 'run-1', since: 4 });
		transport.send({ type: 'subscribe', executionId: 'run-2' });
		transport.send({ type: 'ping' });
		expect(net.posts).toHaveLength(0); // after this turn
		await flush();
		expect(net.posts).toHaveLength(1);
		const [post] = net.posts;
		expect(post!.url).toBe('https://runwatch.test/api/sse/s%2F1');
		expect(post!.init.method).toBe('POST');
		expect(new Headers(post!.init.headers).get('content-type')).toBe('application/json');
		expect(post!.body).toEqual([
			{ type: 'subscribe', executionId: 'run-1', since: 4 },
			{ type: 'subscribe', executionId: 'run-2' },
			{ type: 'ping' }
		]);
		transport.send({ type: 'unsubscribe', executionId: 'run-2' });
		await flush();
		expect(net.posts).toHaveLength(2);
		expect(net.posts[1]!.body).toEqual([{ type: 'unsubscribe', executionId: 'run-2' }]);
	});

	it('messages sent while a POST is in flight go in the next one, in order', async () => {
		const { transport, source, net } = setup();
		let release!: () => void;
		net.answerWith(() => new Promise((resolve) => (release = () => resolve(new Response(null, { status: 202 })))));
		source.emit({ type: 'session', sessionId: 'abc' });
		transport.send({ type: 'ping' });
		await flush();
		expect(net.posts).toHaveLength(1);
		transport.send({ type: 'subscribe', executionId: 'a' });
		transport.send({ type: 'subscribe', executionId: 'b' });
		await flush();
		expect(net.posts).toHaveLength(1); // waits for the first answer
		net.answerWith(async () => new Response(null, { status: 202 }));
		release();
		await flush();
		expect(net.posts.map((p) => p.body)).toEqual([
			[{ type: 'ping' }],
			[
				{ type: 'subscribe', executionId: 'a' },
				{ type: 'subscribe', executionId: 'b' }
			]
		]);
	});

	it('drops messages sent before the session is known', async () => {
		const { transport, source, net } = setup();
		transport.send({ type: 'ping' });
		source.emit({ type: 'session', sessionId: 'abc' });
		await flush();
		expect(net.posts).toHaveLength(0);
	});

	it('a 404 POST (the server forgot the session) closes with 1006, once', async () => {
		const { transport, cb, source, net } = setup();
		net.answerWith(async () => Response.json({ error: { code: 'not_found', message: 'gone' } }, { status: 404 }));
		source.emit({ type: 'session', sessionId: 'abc' });
		transport.send({ type: 'subscribe', executionId: 'run-1' });
		await flush();
		expect(cb.onClose).toHaveBeenCalledTimes(1);
		expect(cb.onClose.mock.calls[0]![0]).toBe(7);
		expect(cb.onClose.mock.calls[0]![1].code).toBe(1006);
		expect(cb.onClose.mock.calls[0]![1].reason).toContain('404');
		expect(source.closed).toBe(true);
		source.fail();
		expect(cb.onClose).toHaveBeenCalledTimes(1);
	});

	it('a POST that fails on the network closes with 1006', async () => {
		const { transport, cb, source, net } = setup();
		net.answerWith(async () => {
			throw new TypeError('Failed to fetch');
		});
		source.emit({ type: 'session', sessionId: 'abc' });
		transport.send({ type: 'ping' });
		await flush();
		expect(cb.onClose).toHaveBeenCalledWith(7, { code: 1006, reason: 'Failed to fetch' });
	});

	it('an EventSource error closes with 1006 and closes the EventSource (no reconnect of its own)', () => {
		const { cb, source } = setup();
		source.emit({ type: 'session', sessionId: 'abc' });
		source.fail();
		expect(cb.onClose).toHaveBeenCalledTimes(1);
		expect(cb.onClose.mock.calls[0]![1].code).toBe(1006);
		expect(source.closed).toBe(true);
		expect(source.onmessage).toBeNull();
	});

	it('an error before the session message also reports a close (the stream never opened)', async () => {
		const { cb, source, net } = setup();
		net.answerWith(async () => {
			throw new TypeError('Failed to fetch');
		});
		source.fail();
		expect(source.closed).toBe(true); // no reconnecting of its own while it asks
		await flush();
		expect(cb.onOpen).not.toHaveBeenCalled();
		expect(cb.onClose).toHaveBeenCalledTimes(1);
		expect(cb.onClose).toHaveBeenCalledWith(7, expect.objectContaining({ code: 1006 }));
	});

	it('an error before the session message: a HEAD of the stream URL that answers 401 or 403 closes with 4403', async () => {
		for (const status of [401, 403]) {
			const { cb, source, net } = setup('https://runwatch.test/api/sse?token=t');
			net.answerWith(async () => new Response(null, { status }));
			source.fail();
			await flush();
			expect(net.requests.at(-1)).toMatchObject({ url: 'https://runwatch.test/api/sse?token=t', init: { method: 'HEAD' } });
			expect(cb.onClose).toHaveBeenCalledTimes(1);
			expect(cb.onClose.mock.calls[0]![1].code).toBe(4403);
		}
	});

	it('an error before the session message while the server answers (or is draining) is a plain 1006', async () => {
		for (const status of [200, 503]) {
			const { cb, source, net } = setup();
			net.answerWith(async () => new Response(null, { status }));
			source.fail();
			await flush();
			expect(cb.onClose).toHaveBeenCalledWith(7, expect.objectContaining({ code: 1006 }));
		}
	});

	it('close() while the HEAD is in flight: no callback', async () => {
		const { transport, cb, source, net } = setup();
		net.answerWith(async () => new Response(null, { status: 401 }));
		source.fail();
		transport.close();
		await flush();
		expect(cb.onClose).not.toHaveBeenCalled();
	});

	it('an error after the session opened closes at once with 1006, without asking', () => {
		const { cb, source, net } = setup();
		source.emit({ type: 'session', sessionId: 'abc' });
		source.fail();
		expect(cb.onClose).toHaveBeenCalledWith(7, expect.objectContaining({ code: 1006 }));
		expect(net.requests).toHaveLength(0);
	});

	it('closes with 4403 when the server says this viewer may no longer view', () => {
		const { cb, source } = setup();
		source.emit({ type: 'session', sessionId: 'abc' });
		source.emit({ type: 'error', code: 'forbidden', message: 'The share link was revoked' });
		expect(cb.onClose).toHaveBeenCalledWith(7, { code: 4403, reason: 'The share link was revoked' });
		expect(cb.onMessage).not.toHaveBeenCalled();
		expect(source.closed).toBe(true);
	});

	it('a forbidden error about one execution is only a message', () => {
		const { cb, source } = setup();
		source.emit({ type: 'session', sessionId: 'abc' });
		source.emit({ type: 'error', code: 'forbidden', message: 'no', executionId: 'run-1' });
		expect(cb.onClose).not.toHaveBeenCalled();
		expect(cb.onMessage).toHaveBeenCalledTimes(1);
	});

	it('a POST answered 401 or 403 closes with 4403', async () => {
		for (const status of [401, 403]) {
			const { transport, cb, source, net } = setup();
			net.answerWith(async () => Response.json({ error: { code: 'unauthorized', message: 'sign in' } }, { status }));
			source.emit({ type: 'session', sessionId: 'abc' });
			transport.send({ type: 'ping' });
			await flush();
			expect(cb.onClose).toHaveBeenCalledTimes(1);
			expect(cb.onClose.mock.calls[0]![1].code).toBe(4403);
		}
	});

	it('an EventSource constructor that throws reports a close asynchronously', async () => {
		const cb = callbacks();
		const factory = createSseTransportFactory({
			url: () => 'not a url',
			EventSource: class {
				constructor() {
					throw new SyntaxError('bad url');
				}
			} as unknown as typeof EventSource,
			fetch: fakeFetch().fetch
		});
		factory.create(1).connect(cb);
		expect(cb.onClose).not.toHaveBeenCalled();
		await flush();
		expect(cb.onClose).toHaveBeenCalledWith(1, { code: 1006, reason: 'bad url' });
	});

	it('close() closes the EventSource; no callback and no POST afterwards', async () => {
		const { transport, cb, source, net } = setup();
		source.emit({ type: 'session', sessionId: 'abc' });
		transport.send({ type: 'ping' });
		transport.close();
		transport.close();
		expect(source.closed).toBe(true);
		source.emit({ type: 'pong' });
		source.fail();
		transport.send({ type: 'ping' });
		await flush();
		expect(net.posts).toHaveLength(0);
		expect(cb.onMessage).not.toHaveBeenCalled();
		expect(cb.onClose).not.toHaveBeenCalled();
	});

	it('connects once', () => {
		const { transport } = setup();
		expect(() => transport.connect(callbacks())).toThrow();
	});

	it('carries the stream URL query (a share link ?token=) over to the POSTs', async () => {
		const { transport, source, net } = setup('https://runwatch.test/api/sse?token=t%2Bok');
		source.emit({ type: 'session', sessionId: 'abc' });
		transport.send({ type: 'ping' });
		await flush();
		expect(net.posts[0]!.url).toBe('https://runwatch.test/api/sse/abc?token=t%2Bok');
	});

	it('supported() follows EventSource being there', () => {
		expect(createSseTransportFactory({ EventSource: FakeEventSource as unknown as typeof EventSource }).supported()).toBe(true);
		const saved = (globalThis as { EventSource?: unknown }).EventSource;
		delete (globalThis as { EventSource?: unknown }).EventSource;
		try {
			expect(createSseTransportFactory().supported()).toBe(false);
		} finally {
			if (saved !== undefined) (globalThis as { EventSource?: unknown }).EventSource = saved;
		}
	});
});

describe('sseUrl', () => {
	it('is /api/sse on the page origin, with the page\'s ?token= and nothing else', () => {
		expect(sseUrl({ origin: 'https://rw.example', search: '' })).toBe('https://rw.example/api/sse');
		expect(sseUrl({ origin: 'https://rw.example', search: '?token=a b&transport=sse' })).toBe(
			'https://rw.example/api/sse?token=a%20b'
		);
		expect(sseUrl({ origin: 'http://127.0.0.1:3000', search: '?x=1' }, '/custom')).toBe('http://127.0.0.1:3000/custom');
	});
	it('opens once even if a second session message arrives', () => {
		const { cb, source } = setup();
		source.emit({ type: 'session', sessionId: 's1' });
		source.emit({ type: 'session', sessionId: 's2' });
		expect(cb.onOpen).toHaveBeenCalledTimes(1);
	});

	it('closes with 1001 (come back at once) when the server says it is shutting down', () => {
		const { cb, source } = setup();
		source.emit({ type: 'session', sessionId: 's1' });
		source.emit({ type: 'error', code: 'shutting_down', message: 'Server is restarting; reconnect now' });
		expect(cb.onClose).toHaveBeenCalledWith(7, { code: 1001, reason: 'Server is restarting; reconnect now' });
		expect(source.closed).toBe(true);
		// A per-execution error with the same code is only a message.
		const other = setup();
		other.source.emit({ type: 'session', sessionId: 's3' });
		other.source.emit({ type: 'error', code: 'shutting_down', message: 'x', executionId: 'run-1' });
		expect(other.cb.onClose).not.toHaveBeenCalled();
		expect(other.cb.onMessage).toHaveBeenCalledTimes(1);
	});
});
