import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterEach, expect, test } from 'vitest';
import { createExecution, outputEvents, postEvents, range, readAllEvents, request } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';
import { WsClient } from '../helpers/ws.js';

const servers: TestServer[] = [];
afterEach(async () => {
	for (const server of servers.splice(0)) await server.cleanup();
});

async function start(): Promise<TestServer> {
	const server = await TestServer.start();
	servers.push(server);
	return server;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('SIGKILL during continuous ingest: after a restart every acknowledged event is there, seqs gapless', async () => {
	const server = await start();
	const id = await createExecution(server);
	const acked = new Map<string, number>();
	const unacked: { id: string; type: string; data: unknown }[][] = [];
	let killed = false;

	const sender = async (w: number) => {
		for (let round = 0; !killed; round++) {
			const batch = outputEvents(round % 4 === 0 ? 1 : 25, `k${w}-${round}`);
			try {
				const result = await postEvents(server, id, round % 4 === 0 ? batch[0]! : batch);
				for (const r of result.results) acked.set(r.id, r.seq);
			} catch {
				unacked.push(batch); // no answer: the agent does not know whether it was stored
			}
		}
	};
	const senders = Promise.all(range(1, 4).map(sender));
	await new Promise<void>((resolve) => {
		const check = setInterval(() => {
			if (acked.size >= 1500) {
				clearInterval(check);
				resolve();
			}
		}, 5);
	});
	const exit = await server.stop('SIGKILL');
	killed = true;
	await senders;
	expect(exit.signal).toBe('SIGKILL');

	await server.restart();
	const events = await readAllEvents(server, id);
	const bySeq = events.map((e) => e.seq);
	expect(bySeq).toEqual(range(1, events.length));
	const stored = new Map(events.map((e) => [e.id, e.seq]));
	let missing = 0;
	for (const [eventId, seq] of acked) if (stored.get(eventId) !== seq) missing++;
	expect(missing).toBe(0);
	expect(events.length).toBeGreaterThanOrEqual(acked.size);
	const execution = (await request(server, 'GET', `/api/executions/${id}`)).body.execution;
	expect(execution.lastSeq).toBe(events.length);

	// The agent retries what it never heard back about: stored at most once, still gapless.
	for (const batch of unacked) await postEvents(server, id, batch);
	const after = await readAllEvents(server, id);
	expect(after.map((e) => e.seq)).toEqual(range(1, after.length));
	expect(new Set(after.map((e) => e.id)).size).toBe(after.length);
	expect(after.length).toBe(acked.size + unacked.flat().length);
});

test('SIGTERM: WebSockets close with 1001 at once, in-flight ingest finishes, exit code 0', async () => {
	const server = await start();
	const id = await createExecution(server);
	await postEvents(server, id, outputEvents(3));
	const clients = await Promise.all(range(1, 5).map(() => WsClient.connect(server.wsUrl)));
	await Promise.all(clients.map((c) => c.subscribe(id, 0)));
	await Promise.all(clients.map((c) => c.waitForSeq(id, 3)));

	// An ingest request in flight: headers and half its body sent, the rest comes after SIGTERM.
	const events = outputEvents(200, `term-${randomUUID().slice(0, 6)}`);
	const body = JSON.stringify({ events });
	const half = Math.floor(body.length / 2);
	let answered: { status: number; body: string } | undefined;
	const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
		const req = httpRequest(
			`${server.url}/api/executions/${id}/events`,
			{ method: 'POST', headers: { ...server.auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
			(res) => {
				let text = '';
				res.setEncoding('utf8');
				res.on('data', (chunk: string) => (text += chunk));
				res.on('end', () => resolve((answered = { status: res.statusCode!, body: text })));
			}
		);
		req.on('error', reject);
		req.write(body.slice(0, half));
		setTimeout(() => req.end(body.slice(half)), 400);
	});
	await sleep(150); // the request has reached the ingest handler

	const sentAt = Date.now();
	const exited = server.stop('SIGTERM');
	const closes = await Promise.all(clients.map((c) => c.waitForClose(9000)));
	const closedWithin = Date.now() - sentAt;
	for (const close of closes) expect(close.code).toBe(1001);
	// Closed by the shutdown itself, not by the 10 s drain limit or a hang (generous: a busy machine).
	expect(closedWithin).toBeLessThan(8000);

	const response = await inFlight;
	expect(response.status).toBe(200);
	expect(JSON.parse(response.body)).toMatchObject({ accepted: 200, lastSeq: 203 });
	expect(await exited).toEqual({ code: 0, signal: null });
	expect(answered).toBeDefined();

	// Everything that was acknowledged is there after a restart.
	await server.restart();
	const stored = await readAllEvents(server, id);
	expect(stored.map((e) => e.seq)).toEqual(range(1, 203));
});

test('SIGTERM with nothing in flight exits promptly with 0', async () => {
	const server = await start();
	const sentAt = Date.now();
	expect(await server.stop('SIGTERM')).toEqual({ code: 0, signal: null });
	expect(Date.now() - sentAt).toBeLessThan(8000); // not the 10 s drain limit
});
