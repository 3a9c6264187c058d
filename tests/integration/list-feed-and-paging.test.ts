import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecution, postEvents, request } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';
import { WsClient, type Frame } from '../helpers/ws.js';

type ExecutionFrame = Extract<Frame, { type: 'execution' }>;
const isExecution = (frame: Frame): frame is ExecutionFrame => frame.type === 'execution';

let server: TestServer;

beforeAll(async () => {
	server = await TestServer.start();
});
afterAll(async () => {
	await server?.cleanup();
});

const logs = (from: number, to: number) =>
	Array.from({ length: to - from + 1 }, (_, i) => ({ id: `e${from + i}`, type: 'log', data: { level: 'info', message: `m${from + i}` } }));

describe('GET /api/executions/:id/events?before=', () => {
	it('pages back from the end to the first event, ascending within each page', async () => {
		const id = await createExecution(server);
		await postEvents(server, id, logs(1, 250));
		const seen: number[] = [];
		let before = Number.MAX_SAFE_INTEGER;
		for (let page = 0; page < 10; page++) {
			const res = await request(server, 'GET', `/api/executions/${id}/events?before=${before}&limit=100`);
			expect(res.status).toBe(200);
			expect(res.body.lastSeq).toBe(250);
			const seqs = res.body.events.map((e: { seq: number }) => e.seq);
			expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
			seen.unshift(...seqs);
			if (seqs.length < 100) break;
			before = seqs[0];
		}
		expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
	});

	it('refuses since and before together, and a bad before, with 400 JSON', async () => {
		const id = await createExecution(server);
		const both = await request(server, 'GET', `/api/executions/${id}/events?since=1&before=5`);
		expect(both.status).toBe(400);
		expect(both.body.error.code).toBe('invalid_query');
		const bad = await request(server, 'GET', `/api/executions/${id}/events?before=-3`);
		expect(bad.status).toBe(400);
		expect(bad.body.error.code).toBe('invalid_query');
	});
});

describe('GET /api/executions?department=', () => {
	it('filters by department name', async () => {
		const tag = `dept-${Date.now()}`;
		const a = await createExecution(server, { department: { name: tag } });
		await createExecution(server, { department: { name: `${tag}-other` } });
		const res = await request(server, 'GET', `/api/executions?department=${tag}`);
		expect(res.status).toBe(200);
		expect(res.body.executions.map((e: { id: string }) => e.id)).toEqual([a]);
	});
});

describe('execution list feed over WebSocket', () => {
	it('acknowledges, then announces new executions and summary changes, coalesced per tick', async () => {
		const client = await WsClient.connect(server.wsUrl);
		try {
			client.send({ type: 'subscribe-executions' });
			await client.nextFrame('executions-subscribed');
			const id = await createExecution(server, { agent: { name: 'feed-agent' } });
			await client.waitUntil(
				() => client.frames.some((f) => isExecution(f) && f.execution.id === id),
				'the new execution'
			);
			const from = client.frames.length;
			// One batch of 50 events: the list hears one summary, not fifty.
			await postEvents(server, id, [{ type: 'agent-start' }, ...logs(2, 49), { type: 'agent-complete' }]);
			await client.waitUntil(
				() => client.frames.slice(from).some((f) => isExecution(f) && f.execution.status === 'completed'),
				'the completed summary'
			);
			const updates = client.frames.slice(from).filter(isExecution);
			expect(updates).toHaveLength(1);
			expect(updates[0]!.execution.lastSeq).toBe(50);

			client.send({ type: 'unsubscribe-executions' });
			client.send({ type: 'ping' });
			const afterUnsubscribe = client.frames.length;
			await client.nextFrame('pong', afterUnsubscribe);
			await createExecution(server);
			client.send({ type: 'ping' });
			const pongAt = client.frames.length;
			await client.nextFrame('pong', pongAt);
			expect(client.frames.slice(afterUnsubscribe).filter(isExecution)).toHaveLength(0);
		} finally {
			client.close();
		}
	});
});
