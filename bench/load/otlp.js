// A load process that plays OpenTelemetry exporters (bench/scenarios/otlp.js drives it over IPC;
// never run by hand):
//   prepare  makes T traces of S spans each with the real SDK (@opentelemetry/sdk-trace-base),
//            GenAI attributes as instrumentation records them, and serialises them once with the
//            exporters' own serializers (@opentelemetry/otlp-transformer): protobuf and JSON
//            request bodies of R traces each; and, for the peer, the same traces as the Runwatch
//            events the OTLP mapping makes of them (docs/protocol.md, "Mapping")
//   post     posts one encoding's bodies to /v1/traces, K requests in flight, and counts the spans
//            acknowledged (200, minus `partialSuccess.rejectedSpans`)
//   postEvents  the peer: per trace, `POST /api/executions` then its events in one
//            `POST /api/executions/:id/events`, K traces in flight
//   check    a few traces' stored event counts, as the server holds them
import http from 'node:http';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { makeBodies } from './otlp-bodies.js';
import { assertLoopback, nowUs, serve } from './ipc.js';

const KIND = { chat: 'llm', execute_tool: 'tool', invoke_agent: 'agent' };

/** Prepared bodies, kept between calls. */
let prepared;

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const iso = (hrTime) => new Date(hrTime[0] * 1000 + Math.floor(hrTime[1] / 1e6)).toISOString();
const nanos = (hrTime) => BigInt(hrTime[0]) * 1_000_000_000n + BigInt(hrTime[1]);
const parsed = (text) => {
	try {
		return JSON.parse(text);
	} catch {
		return text;
	}
};

/** The events the server's OTLP mapping stores for one trace (src/lib/server/otlp/mapping.ts), for the peer. */
function eventsOfTrace(spans) {
	const timed = [];
	for (const span of spans) {
		const attributes = { ...span.attributes };
		const parentSpanId = span.parentSpanContext?.spanId;
		const input = attributes['gen_ai.tool.call.arguments'] ?? attributes['gen_ai.input.messages'];
		const output = attributes['gen_ai.tool.call.result'] ?? attributes['gen_ai.output.messages'];
		for (const k of ['gen_ai.tool.call.arguments', 'gen_ai.input.messages', 'gen_ai.tool.call.result', 'gen_ai.output.messages']) delete attributes[k];
		const operation = attributes['gen_ai.operation.name'];
		const step = { stepId: span.spanContext().spanId, ...(parentSpanId ? { parentStepId: parentSpanId } : {}) };
		const start = { name: span.name, kind: KIND[operation] ?? 'custom' };
		if (input !== undefined) start.input = parsed(input);
		if (attributes['gen_ai.request.model']) start.model = attributes['gen_ai.request.model'];
		if (attributes['gen_ai.tool.name']) start.tool = attributes['gen_ai.tool.name'];
		start.attributes = attributes;
		const end = {};
		if (output !== undefined) end.output = parsed(output);
		if (attributes['gen_ai.usage.input_tokens'] !== undefined) end.usage = { inputTokens: attributes['gen_ai.usage.input_tokens'], outputTokens: attributes['gen_ai.usage.output_tokens'] };
		if (span.status.code === 2) {
			const exception = span.events.find((e) => e.name === 'exception')?.attributes ?? {};
			end.error = { message: span.status.message ?? exception['exception.message'], type: exception['exception.type'], stack: exception['exception.stacktrace'] };
		}
		end.durationMs = Number(nanos(span.endTime) - nanos(span.startTime)) / 1e6;
		const id = step.stepId;
		timed.push({ at: nanos(span.startTime), rank: 0, event: { id: `otel-${id}-start`, type: 'step-start', ts: iso(span.startTime), ...step, data: start } });
		timed.push({ at: nanos(span.endTime), rank: 1, event: { id: `otel-${id}-end`, type: 'step-end', ts: iso(span.endTime), ...step, data: end } });
		if (!parentSpanId) timed.push({ at: nanos(span.endTime), rank: 2, event: { id: `otel-${id}-complete`, type: 'agent-complete', ts: iso(span.endTime) } });
	}
	timed.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.rank - b.rank));
	return timed.map((x) => x.event);
}

async function prepare({ traces, spansPerTrace, tracesPerRequest }) {
	const t0 = nowUs();
	const { spans, groups, requests } = await makeBodies({ traces, spansPerTrace, tracesPerRequest });
	const peer = groups.map((group) => {
		const root = group.find((s) => !s.parentSpanContext);
		const traceId = root.spanContext().traceId;
		return {
			spans: group.length,
			create: JSON.stringify({ id: traceId, agent: { name: root.attributes['gen_ai.agent.name'], model: root.attributes['gen_ai.request.model'] }, metadata: { source: 'otlp', 'service.name': 'bench-agent' } }),
			events: JSON.stringify({ events: eventsOfTrace(group) }),
			eventCount: 2 * group.length + 1,
			traceId
		};
	});
	prepared = { requests, peer };
	const sum = (list, f) => list.reduce((a, x) => a + f(x), 0);
	return {
		spans: spans.length,
		traces: groups.length,
		requests: requests.length,
		protobufBytes: sum(requests, (r) => r.protobuf.length),
		jsonBytes: sum(requests, (r) => r.json.length),
		peerBytes: sum(peer, (p) => p.create.length + p.events.length),
		events: sum(peer, (p) => p.eventCount),
		sampleTraceIds: peer.filter((_, i) => i % Math.max(1, Math.floor(peer.length / 5)) === 0).map((p) => p.traceId),
		prepareMs: (nowUs() - t0) / 1000
	};
}

let agent;
function post(url, headers, body) {
	return new Promise((resolve, reject) => {
		const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': body.length }, timeout: 60000 }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
			res.on('error', reject);
		});
		req.on('timeout', () => req.destroy(new Error('POST timed out')));
		req.on('error', reject);
		req.end(body);
	});
}

/** Runs `work(i)` for i in 0..count-1, `inFlight` at a time. */
async function pool(count, inFlight, work) {
	let next = 0;
	const worker = async () => {
		while (next < count) await work(next++);
	};
	await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
}

async function postTraces({ baseUrl, token, encoding, inFlight }) {
	assertLoopback(baseUrl);
	agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
	const contentType = encoding === 'json' ? 'application/json' : 'application/x-protobuf';
	const serializer = encoding === 'json' ? JsonTraceSerializer : ProtobufTraceSerializer;
	const headers = { authorization: `Bearer ${token}`, 'content-type': contentType };
	let acknowledged = 0;
	let rejected = 0;
	let spans = 0;
	const t0 = nowUs();
	await pool(prepared.requests.length, inFlight, async (i) => {
		const request = prepared.requests[i];
		const res = await post(`${baseUrl}/v1/traces`, headers, request[encoding]);
		if (res.status !== 200) throw new Error(`POST /v1/traces ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`);
		const answer = res.body.length ? serializer.deserializeResponse(new Uint8Array(res.body)) : {};
		const refused = Number(answer.partialSuccess?.rejectedSpans ?? 0);
		spans += request.spans;
		rejected += refused;
		acknowledged += request.spans - refused;
	});
	const elapsedMs = (nowUs() - t0) / 1000;
	agent.destroy();
	return { spans, acknowledged, rejected, requests: prepared.requests.length, elapsedMs };
}

async function postEvents({ baseUrl, token, inFlight }) {
	assertLoopback(baseUrl);
	agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
	const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
	let acknowledged = 0;
	let events = 0;
	const t0 = nowUs();
	await pool(prepared.peer.length, inFlight, async (i) => {
		const p = prepared.peer[i];
		const created = await post(`${baseUrl}/api/executions`, headers, Buffer.from(p.create));
		if (created.status !== 201 && created.status !== 200) throw new Error(`POST /api/executions ${created.status}: ${created.body.toString('utf8').slice(0, 300)}`);
		const res = await post(`${baseUrl}/api/executions/${p.traceId}/events`, headers, Buffer.from(p.events));
		if (res.status !== 200) throw new Error(`POST events ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`);
		const accepted = JSON.parse(res.body.toString('utf8')).accepted;
		events += accepted;
		if (accepted === p.eventCount) acknowledged += p.spans;
	});
	const elapsedMs = (nowUs() - t0) / 1000;
	agent.destroy();
	return { spans: acknowledged, acknowledged, events, rejected: 0, requests: 2 * prepared.peer.length, elapsedMs };
}

/** Stored events of a few traces (each should hold 2 per span + 1). */
async function check({ baseUrl, token, traceIds }) {
	const counts = [];
	for (const id of traceIds) {
		const res = await fetch(`${baseUrl}/api/executions/${id}/events?since=0&limit=1000`, { headers: { authorization: `Bearer ${token}` } });
		const body = await res.json();
		counts.push(res.status === 200 ? body.events.length : -res.status);
	}
	return { counts };
}

serve('bench/load/otlp.js', { prepare, post: postTraces, postEvents, check });
