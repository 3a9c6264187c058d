/**
 * `@runwatch/client/otel`: an OpenTelemetry span processor that reports each span's START to
 * Runwatch at once. SDKs export a span only when it ends; with this processor a step shows in
 * the dashboard while it runs, and the OTLP exporter's finished span later completes it (same
 * execution id = trace id, same step id = span id, same event id: the server stores nothing
 * twice).
 *
 * It needs no @opentelemetry package: it has the SpanProcessor shape (`onStart`, `onEnd`,
 * `forceFlush`, `shutdown`) and reads spans structurally (SDK 1.x and 2.x).
 *
 * ```ts
 * import { RunwatchSpanProcessor } from '@runwatch/client/otel';
 * const provider = new NodeTracerProvider({ spanProcessors: [new RunwatchSpanProcessor(), new BatchSpanProcessor(new OTLPTraceExporter())] });
 * ```
 */
import { resolveConfig, type RunwatchOptions } from './config.js';
import { cleanName, type OutgoingEvent } from './events.js';
import { stepKindOf } from './otel-kind.js';
import { createDeliveryContext, ExecutionSender, type DeliveryContext, type DeliveryStats } from './sender.js';

export { stepKindOf, type SpanStepKind } from './otel-kind.js';

/** `[seconds, nanoseconds]` since the epoch, as OpenTelemetry keeps times. */
export type HrTime = [number, number];

/** What this processor reads from a span (a structural subset of the SDK's `Span`). */
export interface SpanLike {
	name: string;
	spanContext(): { traceId: string; spanId: string };
	/** SDK 2.x. */
	parentSpanContext?: { spanId: string } | undefined;
	/** SDK 1.x. */
	parentSpanId?: string | undefined;
	startTime: HrTime | number;
	attributes?: Record<string, unknown>;
	resource?: { attributes?: Record<string, unknown> };
}

/** Options: the client's delivery options (`url`, `token`, batching, retries, `onError`). */
export type RunwatchSpanProcessorOptions = Omit<RunwatchOptions, 'watchCancel' | 'startTimeoutMs'>;

/** Traces followed at once; the oldest finished ones are let go beyond this. */
const MAX_TRACES = 1000;

/** ISO-8601 of an OpenTelemetry time. */
export function hrTimeToIso(time: HrTime | number): string {
	const ms = Array.isArray(time) ? time[0] * 1000 + Math.floor(time[1] / 1e6) : time;
	return new Date(ms).toISOString();
}

/** The `step-start` event a span's start maps to, exactly as the server's OTLP ingest would store it. */
export function spanStartEvent(span: SpanLike): OutgoingEvent {
	const { spanId } = span.spanContext();
	const parent = span.parentSpanContext?.spanId ?? span.parentSpanId;
	const event: OutgoingEvent = {
		id: `otel-${spanId}-start`,
		type: 'step-start',
		ts: hrTimeToIso(span.startTime),
		stepId: spanId,
		data: { name: cleanName(span.name, 'span'), kind: stepKindOf(span.attributes?.['gen_ai.operation.name']) }
	};
	if (parent) event.parentStepId = parent;
	return event;
}

/** The agent name of the execution a trace maps to. */
export function agentNameOf(span: SpanLike): string {
	const name = span.attributes?.['gen_ai.agent.name'] ?? span.resource?.attributes?.['service.name'];
	return cleanName(name, 'otel');
}

export class RunwatchSpanProcessor {
	readonly #ctx: DeliveryContext;
	readonly #traces = new Map<string, ExecutionSender>();
	#shutdown = false;

	constructor(options: RunwatchSpanProcessorOptions = {}) {
		this.#ctx = createDeliveryContext(resolveConfig({ ...options, watchCancel: false }));
	}

	/** Queues the span's `step-start` (creating the trace's execution first). Sync and cheap. */
	onStart(span: SpanLike, _parentContext?: unknown): void {
		if (this.#shutdown) return;
		try {
			const { traceId } = span.spanContext();
			let sender = this.#traces.get(traceId);
			if (!sender) {
				sender = new ExecutionSender(this.#ctx, traceId, { agent: { name: agentNameOf(span) } });
				this.#traces.set(traceId, sender);
				this.#evict();
			}
			sender.enqueue(spanStartEvent(span));
		} catch {
			// a malformed span must not break the instrumented program
		}
	}

	/** The exporter reports the finished span; here a root span's end lets go of its trace once delivered. */
	onEnd(span: SpanLike): void {
		const parent = span.parentSpanContext?.spanId ?? span.parentSpanId;
		if (parent) return;
		const traceId = span.spanContext().traceId;
		const sender = this.#traces.get(traceId);
		if (!sender) return;
		void sender.flush(this.#ctx.config.flushTimeoutMs).then(() => {
			if (this.#traces.get(traceId) === sender && !sender.pending) this.#traces.delete(traceId);
		});
	}

	/** Waits (up to `flushTimeoutMs`) until every queued span start was delivered. */
	async forceFlush(): Promise<void> {
		await Promise.all([...this.#traces.values()].map((sender) => sender.flush(this.#ctx.config.flushTimeoutMs)));
	}

	/** Flushes, then stops; later spans are ignored. */
	async shutdown(): Promise<void> {
		this.#shutdown = true;
		await this.forceFlush();
		for (const sender of this.#traces.values()) sender.abandon();
		this.#traces.clear();
	}

	/** Delivery counters. */
	stats(): DeliveryStats {
		return { ...this.#ctx.stats, queued: this.#ctx.budget.events };
	}

	#evict(): void {
		if (this.#traces.size <= MAX_TRACES) return;
		for (const [traceId, sender] of this.#traces) {
			if (this.#traces.size <= MAX_TRACES) break;
			if (!sender.pending) this.#traces.delete(traceId);
		}
	}
}
