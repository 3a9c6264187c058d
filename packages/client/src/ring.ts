/**
 * The hand-off from the agent's thread to the delivery thread: a single-producer,
 * single-consumer ring of records in a SharedArrayBuffer, as pino's thread-stream does for log
 * lines. Writing an event costs the agent a few dozen stores (its strings copied as UTF-16 code
 * units, no JSON, no objects kept); ids, JSON, batching, HTTP and retries happen on the other
 * side. The writer never blocks: when the ring is full it says so and the caller decides.
 *
 * Layout: a control block of Int32 slots, a block of Float64 counters, then the data as UTF-16
 * code units. Positions are 32-bit counters of units that only grow (and wrap); the capacity is
 * a power of two, so `counter & mask` is the index. Every record starts with its length in
 * units as a 32-bit number (two units); a length with the top bit set is padding up to the end
 * of the ring, skipped by the reader. Records have an even length so that at least two units
 * remain before the end. Strings whose characters are all below 256 go two to a unit.
 */

/**
 * Int32 slots of the control block. What one thread writes often sits on a cache line (64
 * bytes, 16 slots) of its own: a line both threads write to bounces between their cores at
 * every write, which costs the agent more than the write itself.
 */
export const CONTROL = {
	/** Units written so far (the writer's position). */
	write: 0,
	/** Units read so far (the reader's position). */
	read: 16,
	/** Bumped to wake the reader (Atomics.notify). */
	signal: 32,
	/**
	 * The reader's state: 0 reading; 1 asleep until anything is written; 2 napping between
	 * drains, woken early only when the ring is half full. The writer wakes it once, by
	 * setting 0.
	 */
	readerAsleep: 33,
	/** Set by the agent's thread at exit: deliver what is queued, then set `exitDone`. */
	exitRequested: 34,
	/** Set by the delivery thread once the exit flush ended (delivered or gave up). */
	exitDone: 35,
	/** Set by the delivery side once a close ended: an exit then has nothing to wait for. */
	hostClosed: 36
} as const;
const CONTROL_SLOTS = 48;

/**
 * Float64 counters. Each has one writer: the delivery thread for what it knows (its queue and
 * what the server said), the agent's thread for what it wrote and what the full ring refused.
 */
export const COUNTERS = {
	sent: 0,
	dropped: 1,
	retries: 2,
	failed: 3,
	/** Events in the delivery thread's queue (its memory budget). */
	queued: 4,
	/** Events the reader has taken out of the ring. */
	eventsRead: 5,
	/** Events the writer put into the ring (a cache line of the writer's own, as above). */
	eventsWritten: 8,
	/** Events the writer dropped because the ring was full. */
	ringDropped: 9
} as const;
const COUNTER_SLOTS = 16;

const DATA_OFFSET = CONTROL_SLOTS * 4 + COUNTER_SLOTS * 8;
const PAD = 0x80000000;
/** In a string's length (its high unit): its characters are packed two to a unit. */
const ONE_BYTE = 0x8000;
/** Packing puts the first character in a unit's low byte, which is the first in memory only on little-endian machines. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Default data size: 512 Ki code units (1 MiB): thousands of events in transit, and room for
 * the largest event the client makes (240 KiB of JSON) in half of it. Small enough to mostly stay
 * in the agent core's cache; a burst larger than it waits on the agent's side
 * (`DeliveryLink`), within the queue budget.
 */
export const DEFAULT_RING_UNITS = 512 * 1024;

/** The views of one ring, on either thread. */
export class SharedRing {
	readonly control: Int32Array;
	readonly counters: Float64Array;
	readonly units: Uint16Array;
	readonly mask: number;

	constructor(readonly buffer: SharedArrayBuffer) {
		this.control = new Int32Array(buffer, 0, CONTROL_SLOTS);
		this.counters = new Float64Array(buffer, CONTROL_SLOTS * 4, COUNTER_SLOTS);
		this.units = new Uint16Array(buffer, DATA_OFFSET);
		if (this.units.length & (this.units.length - 1)) throw new RangeError('ring capacity must be a power of two');
		this.mask = this.units.length - 1;
	}

	/** A new ring of `units` UTF-16 code units (a power of two). */
	static create(units: number = DEFAULT_RING_UNITS): SharedRing {
		return new SharedRing(new SharedArrayBuffer(DATA_OFFSET + units * 2));
	}

	get capacity(): number {
		return this.units.length;
	}

	/** Units written and not yet read. */
	used(): number {
		return (Atomics.load(this.control, CONTROL.write) - Atomics.load(this.control, CONTROL.read)) >>> 0;
	}

	/** Wakes a reader waiting in {@link RingReader.waitForData}. */
	wake(): void {
		Atomics.add(this.control, CONTROL.signal, 1);
		Atomics.notify(this.control, CONTROL.signal);
	}
}

/** Record kinds. */
export const OP = {
	/** An execution is opened: its id and the create body (JSON). */
	open: 1,
	/** An event whose flat data the client built: type, step ids, fields, time. Serialised over there. */
	own: 2,
	/** An event already serialised (without its id, which the delivery thread assigns). */
	json: 3,
	/** An `output` event: its text, stream and step, nothing else (the hot path). */
	output: 4,
	/** The agent let go of the execution's handle: forget it once its events are delivered. */
	forget: 5
} as const;

export const FLAG = {
	essential: 1,
	stepId: 2,
	parentStepId: 4,
	data: 8,
	/** The event ends the execution (complete, fail, cancelled). */
	ends: 16,
	/** An output record names its stream. */
	stream: 32
} as const;
const TAG = { string: 1, number: 2, true: 3, false: 4 } as const;

/** Units a string takes in a record: its length (two units) and its code units. */
const sizeOf = (text: string) => 2 + text.length;

/** Flat event data: strings, finite numbers and booleans. */
export type FlatData = Record<string, string | number | boolean>;

/** What the reader hands over, one record at a time. */
export interface RecordSink {
	open(slot: number, executionId: string, createBody: string): void;
	forget(slot: number): void;
	own(slot: number, essential: boolean, tsMs: number, type: string, data: FlatData | undefined, stepId: string | undefined, parentStepId: string | undefined, ends: boolean): void;
	json(slot: number, essential: boolean, jsonWithoutId: string, ends: boolean): void;
}

/** The agent's side. Not thread-safe by design: one writer per ring. */
export class RingWriter {
	readonly #ring: SharedRing;
	readonly #units: Uint16Array;
	readonly #mask: number;
	readonly #f64 = new Float64Array(1);
	readonly #f64Units = new Uint16Array(this.#f64.buffer);
	#write: number;
	/** Where the record being written starts. */
	#recordAt = 0;
	/** The reader's position when last looked at: read again only when the room it left is not enough. */
	#read: number;
	#pos = 0;

	constructor(ring: SharedRing) {
		this.#ring = ring;
		this.#units = ring.units;
		this.#mask = ring.mask;
		this.#write = Atomics.load(ring.control, CONTROL.write);
		this.#read = Atomics.load(ring.control, CONTROL.read);
	}

	/** Records an execution being opened. `false` when the ring is full. */
	open(slot: number, executionId: string, createBody: string): boolean {
		if (!this.#begin(6 + sizeOf(executionId) + sizeOf(createBody))) return false;
		this.#head(OP.open, 0, slot);
		this.#string(executionId);
		this.#string(createBody);
		this.#commit(0);
		return true;
	}

	/** Records that the execution's handle is gone. `false` when the ring is full. */
	forget(slot: number): boolean {
		if (!this.#begin(4)) return false;
		this.#head(OP.forget, 0, slot);
		this.#commit(0);
		return true;
	}

	/** Records an event with flat data. `false` when the ring is full. */
	own(slot: number, essential: boolean, tsMs: number, type: string, data: FlatData | undefined, stepId: string | undefined, parentStepId: string | undefined, ends = false): boolean {
		let size = 6 + 3 + sizeOf(type);
		let flags = (essential ? FLAG.essential : 0) | (ends ? FLAG.ends : 0);
		if (stepId !== undefined) {
			flags |= FLAG.stepId;
			size += sizeOf(stepId);
		}
		if (parentStepId !== undefined) {
			flags |= FLAG.parentStepId;
			size += sizeOf(parentStepId);
		}
		if (data !== undefined) {
			flags |= FLAG.data;
			size += 1;
			for (const key in data) {
				const value = data[key];
				size += sizeOf(key) + 1 + (typeof value === 'string' ? sizeOf(value) : typeof value === 'number' ? 4 : 0);
			}
		}
		if (!this.#begin(size)) return false;
		this.#head(OP.own, flags, slot);
		this.#time(tsMs);
		const units = this.#units;
		this.#string(type);
		if (stepId !== undefined) this.#string(stepId);
		if (parentStepId !== undefined) this.#string(parentStepId);
		if (data !== undefined) {
			const countAt = this.#pos++;
			let count = 0;
			for (const key in data) {
				const value = data[key];
				this.#string(key);
				count++;
				if (typeof value === 'string') {
					units[this.#pos++] = TAG.string;
					this.#string(value);
				} else if (typeof value === 'number') {
					units[this.#pos++] = TAG.number;
					this.#f64[0] = value;
					for (let i = 0; i < 4; i++) units[this.#pos++] = this.#f64Units[i]!;
				} else {
					units[this.#pos++] = value ? TAG.true : TAG.false;
				}
			}
			units[countAt] = count;
		}
		this.#commit(1);
		return true;
	}

	/**
	 * Records an `output` event: what an agent sends most, so it has a record of its own with
	 * nothing to walk. `false` when the ring is full.
	 */
	output(slot: number, tsMs: number, text: string, stream: string | undefined, stepId: string | undefined): boolean {
		let size = 6 + 3 + sizeOf(text);
		let flags = 0;
		if (stream !== undefined) {
			flags |= FLAG.stream;
			size += sizeOf(stream);
		}
		if (stepId !== undefined) {
			flags |= FLAG.stepId;
			size += sizeOf(stepId);
		}
		if (!this.#begin(size)) return false;
		this.#head(OP.output, flags, slot);
		this.#time(tsMs);
		this.#string(text);
		if (stream !== undefined) this.#string(stream);
		if (stepId !== undefined) this.#string(stepId);
		this.#commit(1);
		return true;
	}

	/** Records a serialised event (its JSON without an id). `false` when the ring is full. */
	json(slot: number, essential: boolean, jsonWithoutId: string, ends = false): boolean {
		if (!this.#begin(6 + sizeOf(jsonWithoutId))) return false;
		this.#head(OP.json, (essential ? FLAG.essential : 0) | (ends ? FLAG.ends : 0), slot);
		this.#string(jsonWithoutId);
		this.#commit(1);
		return true;
	}

	/**
	 * Makes room for a record of at most `payload` units (plus its length), padding to the start
	 * when it would wrap; its actual length is set by {@link #commit}.
	 */
	#begin(payload: number): boolean {
		const size = (payload + 2 + 1) & ~1;
		const ring = this.#ring;
		// Up to half the ring always fits once the reader has caught up, wherever the writer is.
		if (size > ring.capacity >>> 1) throw new RangeError(`record of ${size} units is over half the delivery ring (${ring.capacity})`);
		let at = this.#write & this.#mask;
		const tillEnd = ring.capacity - at;
		const needed = size > tillEnd ? size + tillEnd : size;
		if (needed > ring.capacity - ((this.#write - this.#read) >>> 0)) {
			this.#read = Atomics.load(ring.control, CONTROL.read);
			if (needed > ring.capacity - ((this.#write - this.#read) >>> 0)) return false;
		}
		if (size > tillEnd) {
			this.#units[at] = tillEnd & 0xffff;
			this.#units[at + 1] = (tillEnd >>> 16) | (PAD >>> 16);
			this.#write = (this.#write + tillEnd) | 0;
			at = 0;
		}
		this.#recordAt = at;
		this.#pos = at + 2;
		return true;
	}

	#head(op: number, flags: number, slot: number): void {
		const units = this.#units;
		units[this.#pos++] = op;
		units[this.#pos++] = flags;
		units[this.#pos++] = slot & 0xffff;
		units[this.#pos++] = slot >>> 16;
	}

	/** The time in milliseconds as 48 bits: three units. */
	#time(tsMs: number): void {
		const units = this.#units;
		units[this.#pos++] = tsMs & 0xffff;
		units[this.#pos++] = (tsMs / 0x10000) & 0xffff;
		units[this.#pos++] = Math.floor(tsMs / 0x100000000) & 0xffff;
	}

	/**
	 * The string's length, then its characters: two to a unit when every one is below 256 (most
	 * text is), which halves the memory written; else one UTF-16 code unit each.
	 */
	#string(text: string): void {
		const units = this.#units;
		const length = text.length;
		const lengthAt = this.#pos;
		let pos = lengthAt + 2;
		if (LITTLE_ENDIAN) {
			let i = 0;
			let wide = 0;
			for (; i + 1 < length; i += 2) {
				const a = text.charCodeAt(i);
				const b = text.charCodeAt(i + 1);
				if ((wide = a | b) > 0xff) break;
				units[pos++] = a | (b << 8);
			}
			if (wide <= 0xff && i < length) units[pos++] = wide = text.charCodeAt(i);
			if (wide <= 0xff) {
				units[lengthAt] = length & 0xffff;
				units[lengthAt + 1] = (length >>> 16) | ONE_BYTE;
				this.#pos = pos;
				return;
			}
			pos = lengthAt + 2;
		}
		for (let i = 0; i < length; i++) units[pos++] = text.charCodeAt(i);
		units[lengthAt] = length & 0xffff;
		units[lengthAt + 1] = length >>> 16;
		this.#pos = pos;
	}

	/** Sets the record's length, publishes it (and `events` more events written); wakes a sleeping reader. */
	#commit(events: number): void {
		const ring = this.#ring;
		const size = (this.#pos - this.#recordAt + 1) & ~1;
		this.#units[this.#recordAt] = size & 0xffff;
		this.#units[this.#recordAt + 1] = size >>> 16;
		this.#write = (this.#write + size) | 0;
		Atomics.store(ring.control, CONTROL.write, this.#write);
		if (events) ring.counters[COUNTERS.eventsWritten]! += events;
		const asleep = Atomics.load(ring.control, CONTROL.readerAsleep);
		if (asleep === 0) return;
		if (asleep === 2) {
			// Napping: wake it only for a ring half full, by where it really is (the cached position lags).
			if ((this.#write - this.#read) >>> 0 <= ring.capacity >>> 1) return;
			this.#read = Atomics.load(ring.control, CONTROL.read);
			if ((this.#write - this.#read) >>> 0 <= ring.capacity >>> 1) return;
		}
		if (Atomics.compareExchange(ring.control, CONTROL.readerAsleep, asleep, 0) === asleep) ring.wake();
	}
}

/** The delivery thread's side. */
export class RingReader {
	readonly #ring: SharedRing;
	readonly #units: Uint16Array;
	readonly #bytes: Buffer;
	#read: number;
	#pos = 0;

	constructor(ring: SharedRing) {
		this.#ring = ring;
		this.#units = ring.units;
		this.#bytes = Buffer.from(ring.buffer, ring.units.byteOffset, ring.units.byteLength);
		this.#read = Atomics.load(ring.control, CONTROL.read);
	}

	/** Hands every record written so far to `sink`, in order; returns how many. */
	drain(sink: RecordSink): number {
		const ring = this.#ring;
		const units = this.#units;
		const write = Atomics.load(ring.control, CONTROL.write);
		let records = 0;
		while (this.#read !== write) {
			const at = this.#read & ring.mask;
			const length = (units[at]! | (units[at + 1]! << 16)) >>> 0;
			if (length & PAD) {
				this.#read = (this.#read + (length & ~PAD)) | 0;
				continue;
			}
			this.#pos = at + 2;
			const op = units[this.#pos++]!;
			const flags = units[this.#pos++]!;
			const slot = (units[this.#pos++]! | (units[this.#pos++]! << 16)) >>> 0;
			const essential = (flags & FLAG.essential) !== 0;
			const ends = (flags & FLAG.ends) !== 0;
			if (op === OP.output) {
				const tsMs = this.#readTime();
				const text = this.#string();
				const data: FlatData = flags & FLAG.stream ? { text, stream: this.#string() } : { text };
				const stepId = flags & FLAG.stepId ? this.#string() : undefined;
				this.#advance(length);
				sink.own(slot, false, tsMs, 'output', data, stepId, undefined, false);
				this.#eventRead();
			} else if (op === OP.own) {
				const tsMs = this.#readTime();
				const type = this.#string();
				const stepId = flags & FLAG.stepId ? this.#string() : undefined;
				const parentStepId = flags & FLAG.parentStepId ? this.#string() : undefined;
				let data: FlatData | undefined;
				if (flags & FLAG.data) {
					data = {};
					const count = units[this.#pos++]!;
					for (let i = 0; i < count; i++) {
						const key = this.#string();
						const tag = units[this.#pos++]!;
						if (tag === TAG.string) data[key] = this.#string();
						else if (tag === TAG.number) {
							data[key] = this.#bytes.readDoubleLE(this.#pos * 2);
							this.#pos += 4;
						} else data[key] = tag === TAG.true;
					}
				}
				// Copied out above: the units may be reused once the position moves on.
				this.#advance(length);
				sink.own(slot, essential, tsMs, type, data, stepId, parentStepId, ends);
				this.#eventRead();
			} else if (op === OP.json) {
				const json = this.#string();
				this.#advance(length);
				sink.json(slot, essential, json, ends);
				this.#eventRead();
			} else if (op === OP.open) {
				const id = this.#string();
				const body = this.#string();
				this.#advance(length);
				sink.open(slot, id, body);
			} else if (op === OP.forget) {
				this.#advance(length);
				sink.forget(slot);
			} else {
				throw new Error(`runwatch: corrupt delivery ring (record kind ${op})`);
			}
			records++;
		}
		Atomics.store(ring.control, CONTROL.read, this.#read);
		return records;
	}

	/** Whether records wait to be read. */
	get hasData(): boolean {
		return this.#read !== Atomics.load(this.#ring.control, CONTROL.write);
	}

	/**
	 * Without `napMs`: resolves once something was written (or the ring was woken for another
	 * reason). With it: after `napMs`, or sooner if the ring fills past half. The writer wakes
	 * the reader only while it says it sleeps, so a busy stream costs no wake-ups.
	 */
	async waitForData(napMs?: number): Promise<void> {
		const control = this.#ring.control;
		Atomics.store(control, CONTROL.readerAsleep, napMs === undefined ? 1 : 2);
		const signal = Atomics.load(control, CONTROL.signal);
		if ((napMs !== undefined || !this.hasData) && Atomics.load(control, CONTROL.exitRequested) === 0) {
			const waited = Atomics.waitAsync(control, CONTROL.signal, signal, napMs);
			if (waited.async) await waited.value;
		}
		Atomics.store(control, CONTROL.readerAsleep, 0);
	}

	#readTime(): number {
		const units = this.#units;
		return units[this.#pos++]! + units[this.#pos++]! * 0x10000 + units[this.#pos++]! * 0x100000000;
	}

	/** Counted after the sink queued it: the agent's thread may see an event twice for a moment, never miss it. */
	#eventRead(): void {
		this.#ring.counters[COUNTERS.eventsRead]! += 1;
	}

	/** Moves past a record. The position is published once per drain (see `CONTROL`). */
	#advance(length: number): void {
		this.#read = (this.#read + length) | 0;
	}

	#string(): string {
		const units = this.#units;
		const high = units[this.#pos + 1]!;
		const length = units[this.#pos]! | ((high & ~ONE_BYTE) << 16);
		const start = this.#pos + 2;
		if (high & ONE_BYTE) {
			this.#pos = start + ((length + 1) >>> 1);
			return this.#bytes.toString('latin1', start * 2, start * 2 + length);
		}
		this.#pos = start + length;
		if (length === 0) return '';
		if (length < 16) return String.fromCharCode.apply(null, units.subarray(start, start + length) as unknown as number[]);
		return this.#bytes.toString('utf16le', start * 2, (start + length) * 2);
	}
}
