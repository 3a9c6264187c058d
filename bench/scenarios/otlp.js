// Scenario "otlp" (issue 8): OpenTelemetry spans/s ingested through `POST /v1/traces`, in OTLP
// protobuf and OTLP/JSON, beside the same traces posted as the plain API takes them (the events
// the OTLP mapping makes, one create and one events batch per trace), all in the same run. The
// request bodies are made once, before any clock, by the real SDK and the exporters' own
// serializers (bench/load/otlp.js). Each of the three posts into a fresh server, so none writes
// into a database the others filled.
import { fileURLToPath } from 'node:url';
import { fmt } from '../lib/table.js';
import { cpuBetween, cpuSnapshot, withServer, withWorkers } from '../lib/harness.js';

const otlpScript = fileURLToPath(new URL('../load/otlp.js', import.meta.url));

const MODES = [
	{ key: 'protobuf', label: 'OTLP protobuf (POST /v1/traces)' },
	{ key: 'json', label: 'OTLP/JSON (POST /v1/traces)' },
	{ key: 'events', label: 'plain API (create + events per trace)' }
];

/** The server's node arguments, with a --cpu-prof-name per mode so that each server keeps its own profile. */
function serverArgsFor(ctx, mode) {
	const args = [...ctx.serverNodeArgs];
	const i = args.indexOf('--cpu-prof-name');
	if (i !== -1) args[i + 1] = args[i + 1].replace('-server-', `-server-${mode}-`);
	return args;
}

export default {
	name: 'otlp',
	description: 'T traces × S GenAI spans via POST /v1/traces (protobuf, JSON; R traces per request, K in flight) beside the same events via the plain API: spans/s',
	systems: ['runwatch'],
	notApplicable: { 'runwatch-sse': 'same ingest path as Runwatch', socketio: 'no storage', 'ws-broadcast': 'no storage', 'ws-broadcast-tick': 'no storage' },
	defaults: { events: 2000, spansPerTrace: 20, tracesPerRequest: 25, inFlight: 4, timeoutMs: 300000 },
	quick: { events: 500 },
	metrics: MODES.flatMap((m) => [`${m.key}SpansPerSec`, `${m.key}EventsPerSec`, `${m.key}Ms`, `${m.key}ServerCpuPct`, `${m.key}LoadCpuPct`, `${m.key}ServerUsPerSpan`, `${m.key}RequestsPerSec`]),

	async run(system, ctx) {
		const p = ctx.params;
		return withWorkers(
			1,
			ctx,
			async ([loader]) => {
				// `events` is the number of traces here (the one knob shared with the other scenarios).
				const prep = await loader.call('prepare', { traces: p.events, spansPerTrace: p.spansPerTrace, tracesPerRequest: p.tracesPerRequest }, p.timeoutMs);
				const out = { spans: prep.spans, traces: prep.traces, requests: prep.requests, protobufKiB: prep.protobufBytes / 1024, jsonKiB: prep.jsonBytes / 1024, peerKiB: prep.peerBytes / 1024 };
				for (const mode of MODES) {
					const r = await withServer(
						system,
						{ ...ctx, serverNodeArgs: [] },
						async (server) => {
							const common = { baseUrl: server.baseUrl, token: server.token, inFlight: p.inFlight };
							const c0 = await cpuSnapshot(server, [loader]);
							const res = mode.key === 'events' ? await loader.call('postEvents', common, p.timeoutMs) : await loader.call('post', { ...common, encoding: mode.key }, p.timeoutMs);
							const c1 = await cpuSnapshot(server, [loader]);
							const stored = await loader.call('check', { baseUrl: server.baseUrl, token: server.token, traceIds: prep.sampleTraceIds }, 60000);
							const want = 2 * p.spansPerTrace + 1;
							if (res.acknowledged !== prep.spans || stored.counts.some((c) => c !== want)) {
								throw new Error(`${mode.key}: ${res.acknowledged} of ${prep.spans} spans acknowledged (${res.rejected} rejected); stored events of sample traces ${stored.counts.join(', ')} (want ${want} each)`);
							}
							return { ...res, ...cpuBetween(c0, c1) };
						},
						serverArgsFor(ctx, mode.key)
					);
					const sec = r.elapsedMs / 1000;
					Object.assign(out, {
						[`${mode.key}SpansPerSec`]: r.acknowledged / sec,
						[`${mode.key}EventsPerSec`]: (r.acknowledged * 2 + prep.traces) / sec,
						[`${mode.key}Ms`]: r.elapsedMs,
						[`${mode.key}RequestsPerSec`]: r.requests / sec,
						[`${mode.key}ServerCpuPct`]: r.serverCpuPct,
						[`${mode.key}LoadCpuPct`]: r.loadCpuPct,
						[`${mode.key}ServerUsPerSpan`]: r.serverCpuSec !== undefined ? (r.serverCpuSec * 1e6) / r.acknowledged : undefined
					});
				}
				out.headline = MODES.map((m) => `${m.key} ${fmt(out[`${m.key}SpansPerSec`])} spans/s`).join('  ');
				return out;
			},
			otlpScript
		);
	},

	report(summary, params, runs) {
		const s = summary.find((x) => x.system === 'runwatch');
		const m = s?.median ?? {};
		const first = s?.runs?.[0] ?? {};
		const peer = m.eventsSpansPerSec;
		const rows = MODES.map((mode) => [
			mode.label,
			fmt(m[`${mode.key}SpansPerSec`]),
			fmt(m[`${mode.key}SpansPerSec`] / peer, 2) + '×',
			fmt(m[`${mode.key}EventsPerSec`]),
			fmt(m[`${mode.key}RequestsPerSec`]),
			fmt(m[`${mode.key}Ms`]),
			fmt(m[`${mode.key}ServerUsPerSpan`], 1),
			fmt(m[`${mode.key}ServerCpuPct`]),
			fmt(m[`${mode.key}LoadCpuPct`]),
			`${s?.completedRuns ?? 0}/${runs}`
		]);
		return {
			title:
				`otlp: ${fmt(params.events)} traces × ${params.spansPerTrace} GenAI spans (${fmt(params.events * params.spansPerTrace)} spans, ${fmt(params.events * (2 * params.spansPerTrace + 1))} events), ` +
				`${params.tracesPerRequest} traces per OTLP request, ${params.inFlight} requests in flight, each into a fresh server (median of ${runs} run(s))`,
			headers: ['sent as', 'spans/s', '÷ plain API', 'events/s', 'requests/s', 'time ms', 'server CPU µs / span', 'server CPU %', 'load CPU %', 'ok runs'],
			rows,
			notes: [
				`bodies (made before the clock): protobuf ${fmt(first.protobufKiB)} KiB, JSON ${fmt(first.jsonKiB)} KiB, plain API ${fmt(first.peerKiB)} KiB in all; ` +
					'the plain API needs two requests per trace (its events endpoint takes one execution per request), OTLP one per ' +
					`${params.tracesPerRequest} traces. Every span acknowledged, and a sample of traces checked in storage (${2 * params.spansPerTrace + 1} events each).`
			]
		};
	},

	targets(summary) {
		const s = summary.find((x) => x.system === 'runwatch');
		if (!s?.median) return [];
		const m = s.median;
		return ['protobuf', 'json'].map((key) => ({
			target: `otlp ${key}: ≥ 20,000 spans/s`,
			measured: `${fmt(m[`${key}SpansPerSec`])} spans/s (${fmt(m[`${key}SpansPerSec`] / m.eventsSpansPerSec, 2)}× plain API, ${fmt(m[`${key}ServerUsPerSpan`], 1)} vs ${fmt(m.eventsServerUsPerSpan, 1)} server CPU µs/span)`,
			pass: m[`${key}SpansPerSec`] >= 20000
		}));
	}
};
