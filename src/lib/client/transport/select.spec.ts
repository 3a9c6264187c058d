import { describe, expect, it } from 'vitest';
import { FakeTransportFactory } from '../testing/fake-transport.js';
import { fallbackPolicy, firstSupported, forcedTransport, TRANSPORT_STORAGE_KEY } from './select.js';

/** sessionStorage's three methods over a Map. */
class MemoryStorage {
	readonly items = new Map<string, string>();
	getItem(key: string): string | null {
		return this.items.get(key) ?? null;
	}
	setItem(key: string, value: string): void {
		this.items.set(key, value);
	}
	removeItem(key: string): void {
		this.items.delete(key);
	}
}

function setup(options: { forced?: 'websocket' | 'sse' | null; failuresAfterSuccess?: number; storage?: MemoryStorage | null } = {}) {
	const websocket = new FakeTransportFactory('websocket');
	const sse = new FakeTransportFactory('sse');
	const storage = options.storage === undefined ? new MemoryStorage() : options.storage;
	const policy = fallbackPolicy({
		websocket,
		sse,
		storage,
		forced: options.forced,
		failuresAfterSuccess: options.failuresAfterSuccess
	});
	return { websocket, sse, storage, policy };
}

describe('fallbackPolicy', () => {
	it('tries WebSocket first and does not probe while on it', () => {
		const { policy, websocket } = setup();
		expect(policy.next()).toBe(websocket);
		expect(policy.probeTarget('websocket')).toBeNull();
	});

	it('falls back to SSE after one failure when WebSocket never worked in this tab, and remembers it', () => {
		const { policy, sse, storage } = setup();
		policy.report('websocket', 'failed');
		expect(policy.next()).toBe(sse);
		expect(storage!.getItem(TRANSPORT_STORAGE_KEY)).toBe('sse');
	});

	it('falls back to SSE at once when the socket opened but stayed silent, even after it had worked', () => {
		const { policy, sse, storage } = setup();
		policy.report('websocket', 'healthy');
		policy.report('websocket', 'silent');
		expect(policy.next()).toBe(sse);
		expect(storage!.getItem(TRANSPORT_STORAGE_KEY)).toBe('sse');
	});

	it('once WebSocket has worked, falls back only after failuresAfterSuccess failures in a row', () => {
		const { policy, websocket, sse, storage } = setup({ failuresAfterSuccess: 3 });
		policy.report('websocket', 'healthy');
		policy.report('websocket', 'failed');
		policy.report('websocket', 'failed');
		expect(policy.next()).toBe(websocket);
		// A healthy connection in between resets the count.
		policy.report('websocket', 'healthy');
		policy.report('websocket', 'failed');
		policy.report('websocket', 'failed');
		expect(policy.next()).toBe(websocket);
		expect(storage!.getItem(TRANSPORT_STORAGE_KEY)).toBeNull();
		policy.report('websocket', 'failed');
		expect(policy.next()).toBe(sse);
		expect(storage!.getItem(TRANSPORT_STORAGE_KEY)).toBe('sse');
	});

	it('defaults failuresAfterSuccess to 3', () => {
		const { policy, websocket, sse } = setup();
		policy.report('websocket', 'healthy');
		policy.report('websocket', 'failed');
		policy.report('websocket', 'failed');
		expect(policy.next()).toBe(websocket);
		policy.report('websocket', 'failed');
		expect(policy.next()).toBe(sse);
	});

	it('ignores outcomes of the SSE transport', () => {
		const { policy, websocket, sse } = setup();
		policy.report('sse', 'failed');
		policy.report('sse', 'silent');
		expect(policy.next()).toBe(websocket);
		policy.report('websocket', 'failed');
		policy.report('sse', 'healthy');
		expect(policy.next()).toBe(sse);
	});

	it('starts on SSE when this tab already fell back (sessionStorage)', () => {
		const storage = new MemoryStorage();
		storage.setItem(TRANSPORT_STORAGE_KEY, 'sse');
		const { policy, sse } = setup({ storage });
		expect(policy.next()).toBe(sse);
	});

	it('starts on SSE when the browser has no WebSocket', () => {
		const websocket = new FakeTransportFactory('websocket');
		websocket.isSupported = false;
		const sse = new FakeTransportFactory('sse');
		const policy = fallbackPolicy({ websocket, sse });
		expect(policy.next()).toBe(sse);
		expect(policy.probeTarget('sse')).toBeNull(); // nothing better to probe for
	});

	it('stays on WebSocket when SSE is not supported either', () => {
		const websocket = new FakeTransportFactory('websocket');
		const sse = new FakeTransportFactory('sse');
		sse.isSupported = false;
		const storage = new MemoryStorage();
		const policy = fallbackPolicy({ websocket, sse, storage });
		policy.report('websocket', 'failed');
		policy.report('websocket', 'silent');
		expect(policy.next()).toBe(websocket);
		expect(storage.getItem(TRANSPORT_STORAGE_KEY)).toBeNull();
	});

	it('probes WebSocket only while on SSE', () => {
		const { policy, websocket } = setup();
		policy.report('websocket', 'failed');
		expect(policy.probeTarget('sse')).toBe(websocket);
		expect(policy.probeTarget('websocket')).toBeNull();
	});

	it('restore switches back to WebSocket, forgets the remembered fallback, and counts it as having worked', () => {
		const { policy, websocket, sse, storage } = setup();
		policy.report('websocket', 'failed');
		expect(policy.next()).toBe(sse);
		policy.restore('websocket');
		expect(policy.next()).toBe(websocket);
		expect(storage!.getItem(TRANSPORT_STORAGE_KEY)).toBeNull();
		// WebSocket has worked now: one failure (a server restart) is not enough to fall back again.
		policy.report('websocket', 'failed');
		expect(policy.next()).toBe(websocket);
		policy.report('websocket', 'failed');
		policy.report('websocket', 'failed');
		expect(policy.next()).toBe(sse);
	});

	it('restore of SSE changes nothing', () => {
		const { policy, sse, storage } = setup();
		policy.report('websocket', 'failed');
		policy.restore('sse');
		expect(policy.next()).toBe(sse);
		expect(storage!.getItem(TRANSPORT_STORAGE_KEY)).toBe('sse');
	});

	it('works without storage', () => {
		const { policy, sse } = setup({ storage: null });
		policy.report('websocket', 'failed');
		expect(policy.next()).toBe(sse);
	});

	describe('forced', () => {
		it('forced SSE uses SSE whatever happens, never probes, never writes storage', () => {
			const { policy, sse, storage } = setup({ forced: 'sse' });
			expect(policy.next()).toBe(sse);
			policy.report('sse', 'failed');
			policy.restore('websocket');
			expect(policy.next()).toBe(sse);
			expect(policy.probeTarget('sse')).toBeNull();
			expect(storage!.items.size).toBe(0);
		});

		it('forced WebSocket never falls back, whatever the failures and the remembered choice', () => {
			const storage = new MemoryStorage();
			storage.setItem(TRANSPORT_STORAGE_KEY, 'sse');
			const { policy, websocket } = setup({ forced: 'websocket', storage });
			expect(policy.next()).toBe(websocket);
			for (let i = 0; i < 10; i++) policy.report('websocket', i % 2 ? 'failed' : 'silent');
			expect(policy.next()).toBe(websocket);
			expect(storage.getItem(TRANSPORT_STORAGE_KEY)).toBe('sse'); // untouched
		});

		it('a forced transport the browser lacks gives no transport at all', () => {
			const websocket = new FakeTransportFactory('websocket');
			const sse = new FakeTransportFactory('sse');
			sse.isSupported = false;
			expect(fallbackPolicy({ websocket, sse, forced: 'sse' }).next()).toBeUndefined();
		});
	});
});

describe('forcedTransport', () => {
	it('reads ?transport=websocket|sse and ignores anything else', () => {
		expect(forcedTransport('?transport=sse')).toBe('sse');
		expect(forcedTransport('?a=1&transport=websocket')).toBe('websocket');
		expect(forcedTransport('?transport=SSE')).toBeNull();
		expect(forcedTransport('?transport=long-polling')).toBeNull();
		expect(forcedTransport('')).toBeNull();
	});
});

describe('firstSupported', () => {
	it('always picks the first supported factory and never probes', () => {
		const websocket = new FakeTransportFactory('websocket');
		const sse = new FakeTransportFactory('sse');
		const policy = firstSupported([websocket, sse]);
		policy.report('websocket', 'failed');
		expect(policy.next()).toBe(websocket);
		websocket.isSupported = false;
		expect(policy.next()).toBe(sse);
		expect(policy.probeTarget('sse')).toBeNull();
	});
});
