// Shared by the real-proxy browser tests (issue 3): an nginx in front of the worker's Runwatch
// server, a WebSocket "black hole", a timeline recorded inside the page, and the figures each
// test reports (as a test annotation and on the console, so they can be quoted).
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { BrowserContext, Page, Request, TestInfo } from '@playwright/test';
import { expect, test as base } from '../support/fixtures.ts';
import { findNginx, NGINX_MISSING_MESSAGE, NginxProxy, type NginxOptions } from '../support/nginx.ts';

export { expect };

const CI = process.env.CI === 'true' || process.env.CI === '1';

interface ProxyFixtures {
	/** Starts an nginx in front of the worker's Runwatch server; stopped (and its temp dir deleted) after the test. */
	startProxy: (options: Omit<NginxOptions, 'upstreamPort'>) => Promise<NginxProxy>;
}

export const test = base.extend<ProxyFixtures>({
	startProxy: async ({ server }, use, testInfo) => {
		const proxies: NginxProxy[] = [];
		await use(async (options) => {
			const binary = findNginx();
			// Skipped at file level on a laptop without nginx (requireNginx); under CI it is a failure.
			if (!binary) throw new Error(`${CI ? 'CI=true and ' : ''}${NGINX_MISSING_MESSAGE}`);
			const proxy = new NginxProxy({ ...options, upstreamPort: server.port }, binary);
			proxies.push(proxy);
			await proxy.start();
			return proxy;
		});
		for (const proxy of proxies) {
			if (testInfo.status !== testInfo.expectedStatus) {
				await testInfo.attach(`nginx-${proxy.port}.log`, { body: proxy.logs(), contentType: 'text/plain' });
				await testInfo.attach('runwatch-server.log', { body: server.logs(), contentType: 'text/plain' });
			}
			await proxy.dispose();
		}
	}
});

/**
 * Call at the top of each proxy spec file: without nginx the file's tests are skipped with a
 * message saying how to install it, except under CI=true, where they run and fail.
 */
export function requireNginx(): void {
	test.skip(!CI && !findNginx(), NGINX_MISSING_MESSAGE);
}

/** Records one figure: a test annotation (in the JSON/HTML reports) and a console line. */
export function figure(testInfo: TestInfo, name: string, value: string): void {
	testInfo.annotations.push({ type: name, description: value });
	console.log(`[proxy figure] ${testInfo.title} :: ${name}: ${value}`);
}

/** The nearest-rank percentile of `values` (p in 0–100). */
export function percentile(values: number[], p: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	if (sorted.length === 0) return NaN;
	const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
	return sorted[rank - 1]!;
}

export interface Timeline {
	/** Epoch ms of the navigation start (performance.timeOrigin). */
	timeOrigin: number;
	/** Epoch ms (timeOrigin + performance.now()) when each event row first appeared, by seq. */
	rows: Record<string, number>;
	/** Every change of the live indicator, in order. */
	states: { at: number; state: string; transport: string }[];
}

declare global {
	interface Window {
		__runwatchTimeline?: Timeline;
	}
}

/**
 * Before the page's own scripts run, installs a MutationObserver that writes down when each
 * `event-row` (by data-seq) first appears and every change of the live indicator's
 * data-state/data-transport, in epoch ms (performance.timeOrigin + performance.now()): the same
 * clock as Date.now() in the test process on this machine.
 */
export async function recordTimeline(page: Page): Promise<void> {
	await page.addInitScript(() => {
		const now = () => performance.timeOrigin + performance.now();
		const timeline: Timeline = { timeOrigin: performance.timeOrigin, rows: {}, states: [] };
		window.__runwatchTimeline = timeline;
		let last = '';
		const seen = (row: Element, at: number) => {
			const seq = row.getAttribute('data-seq');
			if (seq !== null && !(seq in timeline.rows)) timeline.rows[seq] = at;
		};
		const indicatorChanged = (indicator: Element, at: number) => {
			const state = indicator.getAttribute('data-state') ?? '';
			const transport = indicator.getAttribute('data-transport') ?? '';
			if (`${state}/${transport}` === last) return;
			last = `${state}/${transport}`;
			timeline.states.push({ at, state, transport });
		};
		// Looks only at what each mutation touched, never re-scans the document: a recorder that
		// walks every row on every change would itself be the main-thread work the figures measure.
		new MutationObserver((records) => {
			const at = now();
			for (const record of records) {
				if (record.type === 'attributes') {
					const target = record.target as Element;
					if (target.getAttribute('data-testid') === 'connection-state') indicatorChanged(target, at);
					else if (target.getAttribute('data-testid') === 'event-row') seen(target, at);
					continue;
				}
				for (const node of record.addedNodes) {
					if (!(node instanceof Element)) continue;
					if (node.matches('[data-testid="event-row"]')) seen(node, at);
					else if (node.matches('[data-testid="connection-state"]')) indicatorChanged(node, at);
					if (node.firstElementChild) {
						for (const row of node.querySelectorAll('[data-testid="event-row"]')) seen(row, at);
						const indicator = node.querySelector('[data-testid="connection-state"]');
						if (indicator) indicatorChanged(indicator, at);
					}
				}
			}
		}).observe(document, {
			subtree: true,
			childList: true,
			attributes: true,
			attributeFilter: ['data-state', 'data-transport', 'data-seq']
		});
	});
}

export async function timeline(page: Page): Promise<Timeline> {
	const result = await page.evaluate(() => window.__runwatchTimeline);
	if (!result) throw new Error('no timeline in the page: call recordTimeline(page) before page.goto');
	return result;
}

/** Epoch ms when the live indicator first said `state` on `transport`. */
export function firstState(t: Timeline, state: string, transport: string): number | undefined {
	return t.states.find((s) => s.state === state && s.transport === transport)?.at;
}

/** The indicator's changes as a readable line: `connecting/ +0 ms → open/websocket +312 ms → …`. */
export function describeStates(t: Timeline): string {
	return t.states.map((s) => `${s.state}/${s.transport} +${Math.round(s.at - t.timeOrigin)} ms`).join(' → ');
}

/** Every GET of the dashboard's SSE stream that a page (or a whole context) made, by time. */
export function countSseStreams(target: Page | BrowserContext): { opened: number[] } {
	const counter = { opened: [] as number[] };
	const onRequest = (request: Request) => {
		if (request.method() === 'GET' && new URL(request.url()).pathname === '/api/sse') counter.opened.push(Date.now());
	};
	// Both have on('request'), but TypeScript cannot pick an overload on the union.
	(target as Page).on('request', onRequest);
	return counter;
}

export interface BlackHole {
	port: number;
	/** Upgrade requests it has accepted. */
	upgrades: number;
	close(): Promise<void>;
}

/**
 * A WebSocket endpoint that completes the handshake (`101 Switching Protocols` with a correct
 * `Sec-WebSocket-Accept`) and then never sends or reads a byte: a proxy that accepts the upgrade
 * and passes nothing on. Browsers see an open socket; only the client's first-message timeout
 * can tell.
 */
export async function startBlackHoleWebSocket(): Promise<BlackHole> {
	const sockets = new Set<Socket>();
	const hole = { port: 0, upgrades: 0 } as BlackHole;
	const server: Server = createServer((socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
		socket.on('error', () => {});
		let head = '';
		const onData = (chunk: Buffer) => {
			head += chunk.toString('latin1');
			if (!head.includes('\r\n\r\n')) return;
			socket.off('data', onData);
			const key = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(head)?.[1];
			if (!key) return void socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
			const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
			hole.upgrades++;
			socket.write(
				'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
					`Sec-WebSocket-Accept: ${accept}\r\n\r\n`
			);
			// From here on: silence, and nothing read (what the client sends piles up unread).
			socket.pause();
		};
		socket.on('data', onData);
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => resolve());
	});
	const address = server.address();
	hole.port = typeof address === 'object' && address ? address.port : 0;
	hole.close = () =>
		new Promise<void>((resolve) => {
			for (const socket of sockets) socket.destroy();
			server.close(() => resolve());
		});
	return hole;
}
