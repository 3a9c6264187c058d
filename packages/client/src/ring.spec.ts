import { expect, test } from 'vitest';
import { CONTROL, COUNTERS, RingReader, RingWriter, SharedRing, type FlatData, type RecordSink } from './ring.js';

type Got = [string, ...unknown[]];

function collector(): { sink: RecordSink; got: Got[] } {
	const got: Got[] = [];
	return {
		got,
		sink: {
			open: (...args) => void got.push(['open', ...args]),
			forget: (...args) => void got.push(['forget', ...args]),
			own: (...args) => void got.push(['own', ...args]),
			json: (...args) => void got.push(['json', ...args])
		}
	};
}

test('every kind of record comes out as it went in, in order, whatever the strings hold', () => {
	const ring = SharedRing.create(1024);
	const writer = new RingWriter(ring);
	const reader = new RingReader(ring);
	const { sink, got } = collector();
	const tricky = 'é😀 a\ud800b \u0000\n"\\' + 'x'.repeat(40);
	const ts = Date.UTC(2026, 11, 3, 9, 30, 0, 123);
	writer.open(70000, 'exec-1', '{"agent":{"name":"a"}}');
	writer.output(70000, ts, tricky, undefined, undefined);
	writer.output(70000, ts + 1, 'short', 'stderr', 'step-1');
	const data: FlatData = { level: 'warn', message: tricky, n: -1.5e300, yes: true, no: false };
	writer.own(70000, true, ts + 2, 'log', data, 'step-1', 'parent', true);
	writer.own(3, false, ts + 3, 'usage', undefined, undefined, undefined);
	writer.json(3, true, '{"type":"step-start","data":{"name":"s"}}', false);
	expect(reader.drain(sink)).toBe(6);
	expect(got).toEqual([
		['open', 70000, 'exec-1', '{"agent":{"name":"a"}}'],
		['own', 70000, false, ts, 'output', { text: tricky }, undefined, undefined, false],
		['own', 70000, false, ts + 1, 'output', { text: 'short', stream: 'stderr' }, 'step-1', undefined, false],
		['own', 70000, true, ts + 2, 'log', data, 'step-1', 'parent', true],
		['own', 3, false, ts + 3, 'usage', undefined, undefined, undefined, false],
		['json', 3, true, '{"type":"step-start","data":{"name":"s"}}', false]
	]);
	expect(ring.counters[COUNTERS.eventsWritten]).toBe(5);
	expect(ring.counters[COUNTERS.eventsRead]).toBe(5);
	expect(reader.drain(sink)).toBe(0);
});

test('the default ring holds the largest event the client makes (240 KiB of JSON) in half of it', () => {
	const writer = new RingWriter(SharedRing.create());
	expect(writer.json(1, true, `{"type":"step-end","data":{"output":"${'o'.repeat(240 * 1024 - 60)}"}}`, false)).toBe(true);
});

test('a full ring refuses a record (false) and takes it once read; records wrap around its end intact', () => {
	const ring = SharedRing.create(256);
	const writer = new RingWriter(ring);
	const reader = new RingReader(ring);
	const { sink, got } = collector();
	let written = 0;
	for (let round = 0; round < 20; round++) {
		let accepted = 0;
		// Lengths that do not divide the ring: records must be split by padding at its end.
		while (writer.output(1, round, `r${round}-${accepted}-${'y'.repeat(round % 7)}`, undefined, undefined)) accepted++;
		expect(accepted).toBeGreaterThan(0);
		written += accepted;
		expect(reader.drain(sink)).toBe(accepted);
	}
	expect(got).toHaveLength(written);
	const texts = got.map((g) => (g[5] as { text: string }).text);
	expect(texts[0]).toBe('r0-0-');
	expect(new Set(texts).size).toBe(written);
});

test('a record that could never fit is refused with an error, not taken as "full" forever', () => {
	const writer = new RingWriter(SharedRing.create(256));
	expect(() => writer.output(1, 0, 'z'.repeat(200), undefined, undefined)).toThrow(/over half the delivery ring/);
	expect(writer.output(1, 0, 'fits', undefined, undefined)).toBe(true);
});

test('the capacity must be a power of two (positions wrap with a mask)', () => {
	expect(() => SharedRing.create(1000)).toThrow(/power of two/);
});

test('the reader sleeps until the writer writes, and the writer wakes it only while it sleeps', async () => {
	const ring = SharedRing.create(1024);
	const writer = new RingWriter(ring);
	const reader = new RingReader(ring);
	const signalBefore = ring.control[CONTROL.signal];
	const woke = reader.waitForData();
	await new Promise((resolve) => setTimeout(resolve, 20));
	writer.output(1, 0, 'a', undefined, undefined);
	writer.output(1, 0, 'b', undefined, undefined);
	await woke;
	// One wake for two records: the second found the reader awake.
	expect(ring.control[CONTROL.signal]).toBe(signalBefore! + 1);
	expect(reader.hasData).toBe(true);
});

test('a reader napping between drains is woken early only by a ring half full, also long after it wrapped', async () => {
	const ring = SharedRing.create(1024);
	const writer = new RingWriter(ring);
	const reader = new RingReader(ring);
	const { sink } = collector();
	// Three quarters of the ring written and read: the writer's idea of the reader's position is
	// now three quarters behind (it looks again only when short of room).
	while (ring.used() < (ring.capacity * 3) / 4) writer.output(1, 0, 'warm-up record', undefined, undefined);
	reader.drain(sink);
	const signal = ring.control[CONTROL.signal]!;
	const napping = reader.waitForData(60_000);
	let written = 0;
	while (ring.used() <= ring.capacity / 2 - 16) {
		writer.output(1, 0, `record ${written++}`, undefined, undefined);
		expect(ring.control[CONTROL.signal], `woken after ${written} small records`).toBe(signal);
	}
	while (ring.control[CONTROL.signal] === signal) writer.output(1, 0, `record ${written++}`, undefined, undefined);
	await napping;
	expect(ring.used()).toBeGreaterThan(ring.capacity / 2);
});
