// In-process micro-benchmark of the server's CPU per OTLP span, without HTTP or SQLite: the
// bodies of the "otlp" scenario (bench/load/otlp-bodies.js, repeatable ids) go through
//   read     readTraceRequest (body stream → bytes → JSON or protobuf → checked spans)
//   map      mapSpans (spans → executions and events)
//   prepare  Ingest.createAndAppendMany over a store that keeps nothing (each event serialised
//            and size-checked as for the real store)
// and prints µs per span of each, per encoding (wall time: median and min of the rounds; the
// process's CPU time per span of a whole round beside it, which waits for the core do not
// inflate on a shared machine), with a digest of every
// prepared event's JSON: the same digest before and after a change means the same stored bytes.
//
//   node bench/micro/otlp-decode.js [--traces 500] [--rounds 8] [--encoding json,protobuf] [--dump FILE]
//
// The TypeScript sources are bundled first (vite, into a temp dir), so it measures the working
// tree as it is. `--dump FILE` writes every prepared event's JSON, one a line, for a diff.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { makeBodies } from '../load/otlp-bodies.js';

const { values: opts } = parseArgs({
	options: {
		traces: { type: 'string', default: '500' },
		rounds: { type: 'string', default: '8' },
		encoding: { type: 'string', default: 'protobuf,json' },
		dump: { type: 'string' }
	}
});
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Bundles the server modules this measures (relative imports only; npm packages stay external). */
async function load() {
	// Inside the project, so that the bundle's imports of npm packages resolve; removed once loaded.
	const dir = mkdtempSync(join(root, 'bench', 'micro', '.build-'));
	try {
		await build({
			configFile: false,
			root,
			logLevel: 'silent',
			build: {
				ssr: true,
				outDir: dir,
				emptyOutDir: true,
				minify: false,
				rollupOptions: {
					input: { decode: 'src/lib/server/otlp/decode.ts', mapping: 'src/lib/server/otlp/mapping.ts', ingest: 'src/lib/server/ingest/ingest.ts' },
					output: { format: 'esm', entryFileNames: '[name].js' }
				}
			}
		});
		const imp = (name) => import(pathToFileURL(join(dir, `${name}.js`)).href);
		const [decode, mapping, ingest] = await Promise.all([imp('decode'), imp('mapping'), imp('ingest')]);
		return { ...decode, ...mapping, ...ingest };
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

/** Ids from a counter, so that two runs make the same bodies and so the same events. */
function counterIds() {
	let n = 0;
	const hex = (digits) => (++n).toString(16).padStart(digits, '0');
	return { generateTraceId: () => `a${hex(31)}`, generateSpanId: () => `b${hex(15)}` };
}

/** A request body as Node's HTTP server hands it over: 64 KiB chunks in a web stream. */
function streamOf(bytes) {
	let offset = 0;
	return new ReadableStream({
		pull(controller) {
			if (offset >= bytes.length) return controller.close();
			controller.enqueue(bytes.subarray(offset, offset + 65536));
			offset += 65536;
		}
	});
}

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const nowUs = () => Number(process.hrtime.bigint()) / 1000;

const server = await load();
const traces = Number(opts.traces);
const { spans, requests } = await makeBodies({ traces, spansPerTrace: 20, tracesPerRequest: 25, idGenerator: counterIds() });
console.log(`${traces} traces × 20 spans = ${spans.length} spans in ${requests.length} requests; node ${process.version}`);

let captured = [];
const store = {
	async createAndAppendMany(items) {
		return items.map(({ execution, events }) => {
			captured.push(JSON.stringify(execution.agent), JSON.stringify(execution.metadata));
			for (const event of events) captured.push(event.json);
			return { created: undefined, stored: [], rows: [], results: [], execution: { id: execution.id } };
		});
	}
};
const ingest = new server.Ingest({ store, publisher: { publishRows() {}, publishExecution() {}, publishDeleted() {} }, access: { canIngest: () => true }, admit: () => () => {} });

for (const encoding of opts.encoding.split(',')) {
	const stages = { read: [], map: [], prepare: [], cpu: [] };
	let digest;
	for (let round = 0; round < Number(opts.rounds) + 2; round++) {
		captured = [];
		let read = 0;
		let map = 0;
		let prepare = 0;
		const cpu0 = process.cpuUsage();
		for (const request of requests) {
			const body = request[encoding];
			const t0 = nowUs();
			const received = await server.readTraceRequest({ contentLength: String(body.length), contentEncoding: null, body: streamOf(body) }, encoding);
			const t1 = nowUs();
			const batches = server.mapSpans(received.spans);
			const t2 = nowUs();
			const outcomes = await ingest.createAndAppendMany(batches.map((b) => ({ execution: b.execution, events: b.events, dataJson: b.dataJson, label: (i) => `event ${i}` })));
			const t3 = nowUs();
			if (received.rejected || outcomes.some((o) => o.error)) throw new Error(`${encoding}: spans refused: ${received.rejections.join('; ')} ${outcomes.map((o) => o.error?.message).join(' ')}`);
			read += t1 - t0;
			map += t2 - t1;
			prepare += t3 - t2;
		}
		const cpu = process.cpuUsage(cpu0);
		if (round === 0) {
			digest = createHash('sha256').update(captured.join('\n')).digest('hex').slice(0, 16);
			if (opts.dump) writeFileSync(`${opts.dump}.${encoding}`, captured.join('\n') + '\n');
		}
		if (round < 2) continue; // warm-up
		stages.read.push(read / spans.length);
		stages.map.push(map / spans.length);
		stages.prepare.push(prepare / spans.length);
		stages.cpu.push((cpu.user + cpu.system) / spans.length);
	}
	const f = (list) => `${median(list).toFixed(1)} (${Math.min(...list).toFixed(1)})`;
	const totals = stages.read.map((x, i) => x + stages.map[i] + stages.prepare[i]);
	console.log(
		`${encoding.padEnd(8)} µs/span, median (min): read ${f(stages.read)}  map ${f(stages.map)}  prepare ${f(stages.prepare)}  ` +
			`total ${f(totals)}  CPU ${f(stages.cpu)}; ${captured.length - 2 * traces} events, digest ${digest}`
	);
}
