/**
 * A small real HTTP server for the client's unit tests: records every request and answers
 * each with what `respond` says (default: 201 to a create, 200 to events).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface Recorded {
	method: string;
	path: string;
	headers: IncomingMessage['headers'];
	body: any;
}

export type Responder = (request: Recorded, index: number) => { status: number; body?: unknown; headers?: Record<string, string> } | undefined;

export class RecordingServer {
	readonly requests: Recorded[] = [];
	respond: Responder = () => undefined;
	#server: Server;
	url = '';

	private constructor() {
		this.#server = createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (c: Buffer) => chunks.push(c));
			req.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				const recorded: Recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : undefined };
				this.requests.push(recorded);
				const answer = this.respond(recorded, this.requests.length - 1) ?? defaultAnswer(recorded);
				res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
				res.end(JSON.stringify(answer.body ?? {}));
			});
		});
	}

	static async start(): Promise<RecordingServer> {
		const server = new RecordingServer();
		await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
		const address = server.#server.address();
		if (!address || typeof address === 'string') throw new Error('no address');
		server.url = `http://127.0.0.1:${address.port}`;
		return server;
	}

	/** Every event posted, in the order the server received them. */
	get events(): any[] {
		return this.requests.filter((r) => r.path.endsWith('/events') && r.body?.events).flatMap((r) => r.body.events);
	}

	close(): Promise<void> {
		this.#server.closeAllConnections();
		return new Promise((resolve) => this.#server.close(() => resolve()));
	}
}

function defaultAnswer(request: Recorded): { status: number; body?: unknown } {
	if (request.path === '/api/executions') return { status: 201, body: { ...request.body, url: `http://example.test/executions/${request.body.id}` } };
	if (request.path.endsWith('/events')) return { status: 200, body: { accepted: request.body.events.length } };
	return { status: 404, body: { error: { code: 'not_found', message: 'no' } } };
}
