// Idle keep-alive connections outlive a proxy's own idle timeout (server/index.js,
// KEEP_ALIVE_TIMEOUT_MS): the proxy closes them first, so no request of its is ever sent on a
// connection the node is closing (nginx would answer such a POST 502).
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createExecution } from '../helpers/api.js';
import { TestServer } from '../helpers/server.js';

let server: TestServer;
let executionId: string;
beforeAll(async () => {
	server = await TestServer.start();
	executionId = await createExecution(server);
});
afterAll(async () => {
	await server?.stop();
});

/** A POST of one event on `agent`: its status, the Keep-Alive header, and whether it reused a connection. */
function post(agent: Agent, id: string): Promise<{ status: number; keepAlive: string | undefined; reused: boolean }> {
	return new Promise((resolve, reject) => {
		const body = JSON.stringify({ id, type: 'log', data: { level: 'info', message: id } });
		const req = request(
			{ host: '127.0.0.1', port: server.port, path: `/api/executions/${executionId}/events`, method: 'POST', agent, headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
			(response) => {
				response.resume();
				response.on('end', () => resolve({ status: response.statusCode ?? 0, keepAlive: response.headers['keep-alive']?.toString(), reused: req.reusedSocket }));
			}
		);
		req.on('error', reject);
		req.end(body);
	});
}

test('an idle keep-alive connection is kept 65 s (announced in Keep-Alive), not closed after Node’s default 5 s', async () => {
	const agent = new Agent({ keepAlive: true, maxSockets: 1 });
	try {
		const first = await post(agent, 'first');
		expect(first).toMatchObject({ status: 200, keepAlive: 'timeout=65', reused: false });
		await new Promise((r) => setTimeout(r, 6_000));
		// Past Node's default: the same connection still takes the next request.
		expect(await post(agent, 'second')).toMatchObject({ status: 200, reused: true });
	} finally {
		agent.destroy();
	}
}, 30_000);
