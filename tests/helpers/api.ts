/** Small JSON helpers over fetch for the integration tests. */
import { randomUUID } from 'node:crypto';
import type { TestServer } from './server.js';

export interface JsonResponse<T = any> {
	status: number;
	headers: Headers;
	body: T;
}

export async function request<T = any>(
	server: TestServer,
	method: string,
	path: string,
	options: { body?: unknown; headers?: Record<string, string>; auth?: boolean; raw?: BodyInit } = {}
): Promise<JsonResponse<T>> {
	const headers: Record<string, string> = { ...(options.auth === false ? {} : server.auth), ...options.headers };
	let body: BodyInit | undefined = options.raw;
	if (options.body !== undefined) {
		body = JSON.stringify(options.body);
		headers['content-type'] ??= 'application/json';
	}
	const response = await fetch(server.url + path, { method, headers, body });
	const text = await response.text();
	let parsed: unknown = text;
	if (response.headers.get('content-type')?.includes('application/json')) parsed = JSON.parse(text);
	return { status: response.status, headers: response.headers, body: parsed as T };
}

export async function createExecution(server: TestServer, body: Record<string, unknown> = {}): Promise<string> {
	const response = await request(server, 'POST', '/api/executions', {
		body: { id: `run-${randomUUID()}`, agent: { name: 'test-agent' }, ...body }
	});
	if (response.status !== 201 && response.status !== 200) throw new Error(`create failed: ${response.status} ${JSON.stringify(response.body)}`);
	return response.body.id as string;
}

export interface PostResult {
	accepted: number;
	lastSeq: number;
	results: { id: string; seq: number; duplicate: boolean }[];
	warnings?: string[];
}

/** Posts one event (object) or a batch (array) and insists on 200. */
export async function postEvents(server: TestServer, executionId: string, events: object | object[]): Promise<PostResult> {
	const body = Array.isArray(events) ? { events } : events;
	const response = await request<PostResult>(server, 'POST', `/api/executions/${executionId}/events`, { body });
	if (response.status !== 200) throw new Error(`post failed: ${response.status} ${JSON.stringify(response.body)}`);
	return response.body;
}

/** Every stored event of an execution, paging through `GET .../events`. */
export async function readAllEvents(server: TestServer, executionId: string): Promise<{ seq: number; id: string; type: string }[]> {
	const all: { seq: number; id: string; type: string }[] = [];
	let since = 0;
	for (;;) {
		const page = await request(server, 'GET', `/api/executions/${executionId}/events?since=${since}&limit=1000`);
		if (page.status !== 200) throw new Error(`read failed: ${page.status} ${JSON.stringify(page.body)}`);
		all.push(...page.body.events);
		if (page.body.events.length < 1000) return all;
		since = page.body.events.at(-1).seq;
	}
}

/** `count` output events with fresh ids. */
export function outputEvents(count: number, prefix = randomUUID().slice(0, 8)): { id: string; type: string; data: { text: string } }[] {
	return Array.from({ length: count }, (_, i) => ({ id: `${prefix}-${i}`, type: 'output', data: { text: `line ${i}` } }));
}

export const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
