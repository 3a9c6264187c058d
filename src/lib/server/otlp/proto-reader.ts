import { isUtf8 } from 'node:buffer';

/*
 * The common case of `decodeTraceRequest` (proto.ts) read straight off the wire, without
 * protobufjs's message objects in between. The benchmark (`npm run bench -- --scenario otlp
 * --profile`) found protobufjs's decode, its 64-bit `Long`s and the conversion of its messages to
 * the OTLP/JSON shape costing more than JSON.parse of the same request twice the size.
 *
 * It makes exactly what protobufjs's decode followed by proto.ts's conversion makes, and accepts
 * only what it reads entirely by itself: a known field with an unexpected wire type, a message
 * field given twice (protobuf merges the two), a group, nesting deeper than MAX_DEPTH, invalid
 * UTF-8, a truncated or overlong varint, anything out of range: it returns `undefined` and the
 * caller decodes with protobufjs, which decides and words the error. `decode.property.spec.ts`
 * checks both on generated requests and on arbitrary bytes.
 *
 * Field rules (proto3, as protobufjs decodes them): a scalar outside a oneof is kept only when it
 * is not its default (0, "", empty bytes), the last one given wins; of `AnyValue`'s oneof, the
 * member given last is kept whatever its value; repeated fields are kept when not empty; unknown
 * fields are skipped.
 */

type Plain = Record<string, unknown>;

/** Thrown inside this module only: "not sure, let protobufjs decode it". */
const UNSURE = Symbol('unsure');

/** Well under protobufjs's recursion limit (100), so that anything near it is protobufjs's to refuse. */
const MAX_DEPTH = 64;

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** Below this many bytes a string is checked for ASCII by hand before asking for a UTF-8 check. */
const SHORT_STRING = 64;

/** A cursor over one message's bytes; `end` is where the message stops. */
class Wire {
	pos: number;
	end: number;
	/** The high 32 bits of the last `varint()`. */
	high = 0;

	constructor(
		readonly buf: Buffer,
		pos: number,
		end: number
	) {
		this.pos = pos;
		this.end = end;
	}

	/** A varint of up to 10 bytes; returns its low 32 bits (unsigned) and leaves the high ones in `high`. */
	varint(): number {
		const { buf, end } = this;
		let pos = this.pos;
		let low = 0;
		let high = 0;
		let byte: number;
		for (let shift = 0; shift < 28; shift += 7) {
			if (pos >= end) throw UNSURE;
			byte = buf[pos++]!;
			low |= (byte & 0x7f) << shift;
			if (byte < 0x80) return this.#done(pos, low, 0);
		}
		// The 5th byte straddles the two halves.
		if (pos >= end) throw UNSURE;
		byte = buf[pos++]!;
		low |= (byte & 0x0f) << 28;
		high = (byte & 0x7f) >> 4;
		if (byte < 0x80) return this.#done(pos, low, high);
		for (let shift = 3; shift < 32; shift += 7) {
			if (pos >= end) throw UNSURE;
			byte = buf[pos++]!;
			high |= (byte & 0x7f) << shift;
			if (byte < 0x80) return this.#done(pos, low, high);
		}
		throw UNSURE; // longer than 10 bytes
	}

	#done(pos: number, low: number, high: number): number {
		this.pos = pos;
		this.high = high >>> 0;
		return low >>> 0;
	}

	/** The bounds of a length-delimited field's bytes; moves past them. */
	delimited(): number {
		const length = this.short();
		if (length > this.end - this.pos) throw UNSURE;
		const start = this.pos;
		this.pos += length;
		return start;
	}

	/** A sub-message: a cursor over its bytes (this one moves past them). */
	message(): Wire {
		const start = this.delimited();
		return new Wire(this.buf, start, this.pos);
	}

	string(): string {
		const start = this.delimited();
		const { buf, pos: end } = this;
		if (end - start < SHORT_STRING) {
			// Attribute keys and most names: ASCII, where Latin-1 is UTF-8 and needs no check.
			let i = start;
			while (i < end && buf[i]! < 0x80) i++;
			if (i === end) return buf.toString('latin1', start, end);
		}
		if (!isUtf8(buf.subarray(start, end))) throw UNSURE;
		return buf.toString('utf8', start, end);
	}

	hex(): string {
		const start = this.delimited();
		return this.buf.toString('hex', start, this.pos);
	}

	base64(): string {
		const start = this.delimited();
		return this.buf.toString('base64', start, this.pos);
	}

	/** fixed64 as a decimal string, or undefined when it is 0. */
	fixed64(): string | undefined {
		if (this.end - this.pos < 8) throw UNSURE;
		const low = this.buf.readUInt32LE(this.pos);
		const high = this.buf.readUInt32LE(this.pos + 4);
		this.pos += 8;
		return low === 0 && high === 0 ? undefined : unsignedString(low, high);
	}

	double(): number {
		if (this.end - this.pos < 8) throw UNSURE;
		const value = this.buf.readDoubleLE(this.pos);
		this.pos += 8;
		return value;
	}

	/** Skips a field this reader does not read (unknown, or with another wire type than its own). */
	skip(wireType: number): void {
		switch (wireType) {
			case VARINT:
				this.varint();
				return;
			case FIXED64:
				if (this.end - this.pos < 8) throw UNSURE;
				this.pos += 8;
				return;
			case LENGTH_DELIMITED:
				this.delimited();
				return;
			case FIXED32:
				if (this.end - this.pos < 4) throw UNSURE;
				this.pos += 4;
				return;
			default:
				throw UNSURE; // groups, and wire types that do not exist
		}
	}

	/** The next field's number and wire type (`tag >>> 3`, `tag & 7`); field 0 does not exist. */
	tag(): number {
		const tag = this.short();
		if (tag >>> 3 === 0) throw UNSURE;
		return tag;
	}

	/**
	 * A tag or a length: a varint of at most 4 bytes (below 2^28). protobufjs reads longer ones by
	 * rules of its own (a 5th byte is checked one way for tags, another for lengths, and not read
	 * at all near the end of a message); those are left to it.
	 */
	short(): number {
		const { buf, end } = this;
		let pos = this.pos;
		let value = 0;
		for (let shift = 0; shift < 28; shift += 7) {
			if (pos >= end) throw UNSURE;
			const byte = buf[pos++]!;
			value |= (byte & 0x7f) << shift;
			if (byte < 0x80) {
				this.pos = pos;
				return value;
			}
		}
		throw UNSURE;
	}
}

/** A 64-bit unsigned integer, from its two unsigned 32-bit halves, in decimal (exact). */
export function unsignedString(low: number, high: number): string {
	// Exact as a double below 2^53.
	if (high < 0x200000) return String(high * 4294967296 + low);
	return ((BigInt(high) << 32n) | BigInt(low)).toString();
}

/** The same for a signed (two's complement) one. */
export function signedString(low: number, high: number): string {
	if (high < 0x200000) return String(high * 4294967296 + low);
	if (high >= 0xffe00000) return String((high - 4294967296) * 4294967296 + low); // negative, above -2^53
	return BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low)).toString();
}

/** Reads `ExportTraceServiceRequest` bytes into the OTLP/JSON shape, or undefined when protobufjs must decide. */
export function readTraceRequestBytes(bytes: Uint8Array): Plain | undefined {
	const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	try {
		return request(new Wire(buf, 0, buf.length));
	} catch (error) {
		if (error === UNSURE) return undefined;
		throw error;
	}
}

function request(w: Wire): Plain {
	const resourceSpans: Plain[] = [];
	while (w.pos < w.end) {
		const tag = w.tag();
		if (tag === ((1 << 3) | LENGTH_DELIMITED)) resourceSpans.push(readResourceSpans(w.message(), 1));
		else w.skip(tag & 7);
	}
	return resourceSpans.length ? { resourceSpans } : {};
}

function deeper(depth: number): number {
	if (depth >= MAX_DEPTH) throw UNSURE;
	return depth + 1;
}

function readResourceSpans(w: Wire, depth: number): Plain {
	depth = deeper(depth);
	let resource: Plain | undefined;
	const scopeSpans: Plain[] = [];
	while (w.pos < w.end) {
		const tag = w.tag();
		if (tag === ((1 << 3) | LENGTH_DELIMITED)) {
			if (resource) throw UNSURE; // given twice: protobuf merges them
			resource = readResource(w.message(), depth);
		} else if (tag === ((2 << 3) | LENGTH_DELIMITED)) scopeSpans.push(readScopeSpans(w.message(), depth));
		else w.skip(tag & 7);
	}
	const d: Plain = {};
	if (resource) d.resource = resource;
	if (scopeSpans.length) d.scopeSpans = scopeSpans;
	return d;
}

function readResource(w: Wire, depth: number): Plain {
	depth = deeper(depth);
	const attributes: Plain[] = [];
	while (w.pos < w.end) {
		const tag = w.tag();
		if (tag === ((1 << 3) | LENGTH_DELIMITED)) attributes.push(readKeyValue(w.message(), depth));
		else w.skip(tag & 7);
	}
	return attributes.length ? { attributes } : {};
}

function readScopeSpans(w: Wire, depth: number): Plain {
	depth = deeper(depth);
	let scope: Plain | undefined;
	const spans: Plain[] = [];
	while (w.pos < w.end) {
		const tag = w.tag();
		if (tag === ((1 << 3) | LENGTH_DELIMITED)) {
			if (scope) throw UNSURE;
			scope = readScope(w.message(), depth);
		} else if (tag === ((2 << 3) | LENGTH_DELIMITED)) spans.push(readSpan(w.message(), depth));
		else w.skip(tag & 7);
	}
	const d: Plain = {};
	if (scope) d.scope = scope;
	if (spans.length) d.spans = spans;
	return d;
}

function readScope(w: Wire, depth: number): Plain {
	deeper(depth);
	let name = '';
	let version = '';
	while (w.pos < w.end) {
		const tag = w.tag();
		if (tag === ((1 << 3) | LENGTH_DELIMITED)) name = w.string();
		else if (tag === ((2 << 3) | LENGTH_DELIMITED)) version = w.string();
		else w.skip(tag & 7);
	}
	const d: Plain = {};
	if (name) d.name = name;
	if (version) d.version = version;
	return d;
}

function readSpan(w: Wire, depth: number): Plain {
	depth = deeper(depth);
	let traceId = '';
	let spanId = '';
	let parentSpanId = '';
	let name = '';
	let kind = 0;
	let start: string | undefined;
	let end: string | undefined;
	const attributes: Plain[] = [];
	const events: Plain[] = [];
	let status: Plain | undefined;
	while (w.pos < w.end) {
		const tag = w.tag();
		switch (tag) {
			case (1 << 3) | LENGTH_DELIMITED:
				traceId = w.hex();
				break;
			case (2 << 3) | LENGTH_DELIMITED:
				spanId = w.hex();
				break;
			case (4 << 3) | LENGTH_DELIMITED:
				parentSpanId = w.hex();
				break;
			case (5 << 3) | LENGTH_DELIMITED:
				name = w.string();
				break;
			case (6 << 3) | VARINT:
				kind = w.varint() | 0;
				break;
			case (7 << 3) | FIXED64:
				start = w.fixed64();
				break;
			case (8 << 3) | FIXED64:
				end = w.fixed64();
				break;
			case (9 << 3) | LENGTH_DELIMITED:
				attributes.push(readKeyValue(w.message(), depth));
				break;
			case (11 << 3) | LENGTH_DELIMITED:
				events.push(readEvent(w.message(), depth));
				break;
			case (15 << 3) | LENGTH_DELIMITED:
				if (status) throw UNSURE;
				status = readStatus(w.message(), depth);
				break;
			default:
				w.skip(tag & 7);
		}
	}
	const d: Plain = {};
	if (traceId) d.traceId = traceId;
	if (spanId) d.spanId = spanId;
	if (parentSpanId) d.parentSpanId = parentSpanId;
	if (name) d.name = name;
	if (kind) d.kind = kind;
	if (start !== undefined) d.startTimeUnixNano = start;
	if (end !== undefined) d.endTimeUnixNano = end;
	if (attributes.length) d.attributes = attributes;
	if (events.length) d.events = events;
	if (status) d.status = status;
	return d;
}

function readEvent(w: Wire, depth: number): Plain {
	depth = deeper(depth);
	let time: string | undefined;
	let name = '';
	const attributes: Plain[] = [];
	while (w.pos < w.end) {
		const tag = w.tag();
		if (tag === ((1 << 3) | FIXED64)) time = w.fixed64();
		else if (tag === ((2 << 3) | LENGTH_DELIMITED)) name = w.string();
		else if (tag === ((3 << 3) | LENGTH_DELIMITED)) attributes.push(readKeyValue(w.message(), depth));
		else w.skip(tag & 7);
	}
	const d: Plain = {};
	if (time !== undefined) d.timeUnixNano = time;
	if (name) d.name = name;
	if (attributes.length) d.attributes = attributes;
	return d;
}

function readStatus(w: Wire, depth: number): Plain {
	deeper(depth);
	let message = '';
	let code = 0;
	while (w.pos < w.end) {
		const tag = w.tag();
		if (tag === ((2 << 3) | LENGTH_DELIMITED)) message = w.string();
		else if (tag === ((3 << 3) | VARINT)) code = w.varint() | 0;
		else w.skip(tag & 7);
	}
	const d: Plain = {};
	if (message) d.message = message;
	if (code) d.code = code;
	return d;
}

function readKeyValue(w: Wire, depth: number): Plain {
	depth = deeper(depth);
	let key = '';
	let value: Plain | undefined;
	while (w.pos < w.end) {
		const tag = w.tag();
		if (tag === ((1 << 3) | LENGTH_DELIMITED)) key = w.string();
		else if (tag === ((2 << 3) | LENGTH_DELIMITED)) {
			if (value) throw UNSURE;
			value = readAnyValue(w.message(), depth);
		} else w.skip(tag & 7);
	}
	const d: Plain = {};
	if (key) d.key = key;
	if (value) d.value = value;
	return d;
}

/**
 * `AnyValue`: a oneof, so only the member given last is kept (protobufjs's decode sets the
 * oneof, which clears the others). An `arrayValue` or `kvlistValue` given again right after
 * itself would be merged into the first: left to protobufjs.
 */
function readAnyValue(w: Wire, depth: number): Plain {
	depth = deeper(depth);
	let member: string | undefined;
	let value: unknown;
	while (w.pos < w.end) {
		const tag = w.tag();
		switch (tag) {
			case (1 << 3) | LENGTH_DELIMITED:
				member = 'stringValue';
				value = w.string();
				break;
			case (2 << 3) | VARINT:
				member = 'boolValue';
				value = w.varint() !== 0;
				break;
			case (3 << 3) | VARINT: {
				const low = w.varint();
				member = 'intValue';
				value = signedString(low, w.high);
				break;
			}
			case (4 << 3) | FIXED64:
				member = 'doubleValue';
				value = w.double();
				break;
			case (5 << 3) | LENGTH_DELIMITED:
				if (member === 'arrayValue') throw UNSURE;
				member = 'arrayValue';
				value = readValues(w.message(), depth, readAnyValue);
				break;
			case (6 << 3) | LENGTH_DELIMITED:
				if (member === 'kvlistValue') throw UNSURE;
				member = 'kvlistValue';
				value = readValues(w.message(), depth, readKeyValue);
				break;
			case (7 << 3) | LENGTH_DELIMITED:
				member = 'bytesValue';
				value = w.base64();
				break;
			default:
				w.skip(tag & 7);
		}
	}
	return member === undefined ? {} : { [member]: value };
}

/** `ArrayValue` or `KeyValueList`: field 1, repeated. */
function readValues(w: Wire, depth: number, read: (w: Wire, depth: number) => Plain): Plain {
	depth = deeper(depth);
	const values: Plain[] = [];
	while (w.pos < w.end) {
		const tag = w.tag();
		if (tag === ((1 << 3) | LENGTH_DELIMITED)) values.push(read(w.message(), depth));
		else w.skip(tag & 7);
	}
	return values.length ? { values } : {};
}
