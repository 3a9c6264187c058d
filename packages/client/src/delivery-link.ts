/**
 * The agent's side of delivery: it writes events into the shared ring (the only work an event
 * costs the agent's thread) and talks to the {@link DeliveryHost} for everything else. The host
 * runs in a worker thread by default, so batching, JSON, HTTP, retries and their garbage never
 * run on the agent's thread, and events keep going out while the agent computes without
 * yielding. With `deliveryThread: false` (or where the worker cannot start) the host runs here,
 * on the same ring.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { ResolvedConfig } from './config.js';
import { DeliveryHost, type FromHost, type HostConfig, type ToHost } from './delivery-host.js';
import { RunwatchClientError } from './errors.js';
import { COUNTERS, CONTROL, RingWriter, SharedRing, type FlatData } from './ring.js';
import { warnOncePerCode, type DeliveryStats } from './sender.js';

/** What the link tells an execution's handle. */
export interface LinkedExecution {
	created(url: string | undefined): void;
	cancel(reason: string | undefined): void;
}

/** A request as the caller gives it: the link numbers it. */
type Request = ToHost extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

/** How soon records kept back by a full ring are tried again. */
const OVERFLOW_RETRY_MS = 10;

const workerFile = fileURLToPath(new URL('./delivery-worker.js', import.meta.url));

export class DeliveryLink {
	readonly ring: SharedRing;
	readonly #writer: RingWriter;
	readonly #config: ResolvedConfig;
	readonly #report: (error: RunwatchClientError) => void;
	readonly #executions = new Map<number, WeakRef<LinkedExecution>>();
	readonly #forget = new FinalizationRegistry<number>((slot) => {
		this.#executions.delete(slot);
		this.#opened.delete(slot);
		// By the ring, after the execution's last records (some may still wait for room).
		if (!this.#closed) this.#essential(() => this.#writer.forget(slot));
	});
	readonly #waiting = new Map<number, { message: Request; resolve: (ok: boolean) => void }>();
	/** What each open execution was opened with: sent again if delivery has to start over here. */
	readonly #opened = new Map<number, { id: string; body: string }>();
	readonly #hostConfig: HostConfig;
	/** Waits (requests, `start()`) that keep the process alive, as an HTTP request in flight would. */
	#holds = 0;
	/**
	 * Records a full ring refused, in order, written as soon as it has room: a burst faster than
	 * the delivery side reads waits here, within the same memory budget as the queue over there
	 * (`maxQueueEvents`, `maxQueueBytes`); beyond it the newest are dropped, except an
	 * execution's open, start and end.
	 */
	#overflow: { write: () => boolean; units: number; event: boolean }[] = [];
	/** Events among `#overflow` (the rest open or forget an execution). */
	#overflowEvents = 0;
	/** The first of `#overflow` still waiting (what is before it was written). */
	#overflowHead = 0;
	#overflowUnits = 0;
	#overflowTimer: NodeJS.Timeout | undefined;
	#dropReported = false;
	#nextSlot = 1;
	#nextRequest = 1;
	/** The worker's port (thread mode) or the host itself (same thread). */
	#port: MessagePort | undefined;
	#worker: Worker | undefined;
	#host: DeliveryHost | undefined;
	/** After `close()` (until an execution is opened again) and at exit: nothing reads the ring. */
	#closed = false;
	#exiting = false;

	constructor(config: ResolvedConfig, ringUnits?: number) {
		this.#config = config;
		this.#report = config.onError ?? warnOncePerCode();
		this.ring = SharedRing.create(ringUnits);
		this.#writer = new RingWriter(this.ring);
		const { onError: _functionsStayHere, ...hostConfig }: ResolvedConfig = config;
		this.#hostConfig = hostConfig;
		this.#start();
	}

	/** Starts delivery: at construction, and again when an execution is opened after `close()`. */
	#start(): void {
		this.#closed = false;
		Atomics.store(this.ring.control, CONTROL.hostClosed, 0);
		if (this.#config.deliveryThread && existsSync(workerFile)) this.#startThread();
		else this.#startHere();
	}

	#startThread(): void {
		const { port1, port2 } = new MessageChannel();
		let worker: Worker;
		try {
			// No flags of the agent's process (`-e`, `--input-type`, loaders): the worker runs only this package's JS.
			worker = new Worker(workerFile, { workerData: { buffer: this.ring.buffer, config: this.#hostConfig, port: port2 }, transferList: [port2], execArgv: [] });
		} catch (error) {
			port1.close();
			return this.#takeOver(`the delivery thread could not start (${(error as Error).message})`);
		}
		this.#worker = worker;
		// Only the current worker's end matters: one ended by close() may report after a restart.
		worker.on('error', (error) => this.#worker === worker && this.#takeOver(`the delivery thread failed (${error.message})`));
		worker.on('exit', (code) => this.#worker === worker && this.#takeOver(`the delivery thread exited (code ${code})`));
		worker.unref();
		this.#port = port1;
		port1.on('message', (message: FromHost) => this.#receive(message));
		port1.unref();
	}

	#startHere(): void {
		this.#host = new DeliveryHost(this.ring, this.#hostConfig, (message) => this.#receive(message));
		void this.#host.run();
	}

	/**
	 * The delivery thread is gone (it could not start, or crashed): deliver from this thread,
	 * from where it stopped reading the ring. What it had taken from the ring and not yet sent
	 * is lost, and said so; executions it had opened are opened again here.
	 */
	#takeOver(why: string): void {
		if (this.#closed || this.#host) return;
		const lost = this.ring.counters[COUNTERS.queued]!;
		this.#reportSafely(new RunwatchClientError('abandoned', `${why}: sending from the agent's thread instead${lost ? `; ${lost} events it held were lost` : ''}`, ''));
		this.#port?.close();
		this.#port = undefined;
		this.#worker = undefined;
		this.ring.counters[COUNTERS.dropped]! += lost;
		this.ring.counters[COUNTERS.queued] = 0;
		this.#startHere();
		for (const [slot, { id, body }] of this.#opened) this.#host!.open(slot, id, body);
		for (const [id, { message }] of this.#waiting) this.#send({ ...message, id } as ToHost);
	}

	/** Whether delivery runs on a thread of its own. */
	get threaded(): boolean {
		return this.#worker !== undefined;
	}

	/** Registers an execution's handle and records its opening; returns its slot. */
	open(execution: LinkedExecution, executionId: string, createBody: string): number {
		if (this.#closed && !this.#exiting) this.#start();
		const slot = this.#nextSlot++;
		this.#executions.set(slot, new WeakRef(execution));
		this.#opened.set(slot, { id: executionId, body: createBody });
		this.#forget.register(execution, slot);
		this.#essential(() => this.#writer.open(slot, executionId, createBody));
		return slot;
	}

	// own, output and json are written out alike rather than through one helper taking a closure:
	// on the agent's hot path a closure per event is garbage per event. Only a record the full
	// ring refuses gets one (#keep).

	/** Queues an event with flat data (see `RingWriter.own`). Never throws, never blocks. */
	own(slot: number, essential: boolean, type: string, data: FlatData | undefined, stepId: string | undefined, ends: boolean): void {
		if (this.#closed) return this.#afterClose();
		const tsMs = Date.now();
		if (this.#overflowHead === this.#overflow.length || this.#retryOverflow()) {
			try {
				if (this.#writer.own(slot, essential, tsMs, type, data, stepId, undefined, ends)) return;
			} catch (error) {
				return this.#tooBig(error as Error);
			}
		}
		let units = 32 + type.length;
		for (const key in data) units += key.length + String(data[key]).length;
		this.#keep(() => this.#writer.own(slot, essential, tsMs, type, data, stepId, undefined, ends), essential, units);
	}

	/** Queues an `output` event (the hot path: see `RingWriter.output`). Never throws, never blocks. */
	output(slot: number, text: string, stream: string | undefined, stepId: string | undefined): void {
		if (this.#closed) return this.#afterClose();
		const tsMs = Date.now();
		if (this.#overflowHead === this.#overflow.length || this.#retryOverflow()) {
			try {
				if (this.#writer.output(slot, tsMs, text, stream, stepId)) return;
			} catch (error) {
				return this.#tooBig(error as Error);
			}
		}
		this.#keep(() => this.#writer.output(slot, tsMs, text, stream, stepId), false, 32 + text.length);
	}

	/** Queues a serialised event (its JSON without an id). Never throws, never blocks. */
	json(slot: number, essential: boolean, jsonWithoutId: string, ends: boolean): void {
		if (this.#closed) return this.#afterClose();
		if (this.#overflowHead === this.#overflow.length || this.#retryOverflow()) {
			try {
				if (this.#writer.json(slot, essential, jsonWithoutId, ends)) return;
			} catch (error) {
				return this.#tooBig(error as Error);
			}
		}
		this.#keep(() => this.#writer.json(slot, essential, jsonWithoutId, ends), essential, jsonWithoutId.length);
	}

	/** Sends a request and resolves with its answer; keeps the process alive meanwhile. */
	async request(request: Request): Promise<boolean> {
		if (this.#closed) return false;
		// What waits for room in the ring goes first: a flush covers every event queued before it.
		const deadline = Date.now() + request.timeoutMs;
		await this.#writeOverflow(deadline);
		// A close() may have ended delivery meanwhile: nothing would answer.
		if (this.#closed) return false;
		const id = this.#nextRequest++;
		const release = this.hold();
		return new Promise<boolean>((resolve) => {
			this.#waiting.set(id, { message: request, resolve });
			this.#send({ ...request, timeoutMs: Math.max(0, deadline - Date.now()), id } as ToHost);
		}).finally(release);
	}

	/**
	 * Keeps the process alive until the returned function is called: the delivery thread's
	 * answers come by a port that otherwise never holds the agent's process open.
	 */
	hold(): () => void {
		if (this.#holds++ === 0) this.#port?.ref();
		let released = false;
		return () => {
			if (released) return;
			released = true;
			if (--this.#holds === 0) this.#port?.unref();
		};
	}

	/**
	 * Flushes, gives up what is left after `timeoutMs`, and ends the delivery thread (started
	 * again if an execution is opened later).
	 */
	async close(timeoutMs: number): Promise<void> {
		if (this.#closed) return;
		await this.request({ op: 'close', timeoutMs });
		this.#closed = true;
		this.#shutDown();
	}

	stats(): DeliveryStats {
		const c = this.ring.counters;
		return {
			sent: c[COUNTERS.sent]!,
			dropped: c[COUNTERS.dropped]! + c[COUNTERS.ringDropped]!,
			retries: c[COUNTERS.retries]!,
			failed: c[COUNTERS.failed]!,
			queued: c[COUNTERS.queued]! + c[COUNTERS.eventsWritten]! - c[COUNTERS.eventsRead]! + this.#overflowEvents
		};
	}

	/**
	 * At process exit (`process.exit()` included), with delivery on its own thread: asks it to
	 * deliver what is queued and blocks this thread until it did or `flushTimeoutMs` passed. The
	 * only way to send anything from an `exit` handler. Returns false when there is no thread.
	 */
	flushAtExit(): boolean {
		if (!this.#worker || this.#closed) return false;
		this.#closed = true;
		this.#exiting = true;
		const control = this.ring.control;
		const deadline = Date.now() + this.#config.flushTimeoutMs;
		// The delivery thread still reads the ring meanwhile: wait for room, a few ms at a time.
		while (!this.#retryOverflow() && Date.now() < deadline) Atomics.wait(control, CONTROL.exitDone, 0, OVERFLOW_RETRY_MS);
		Atomics.store(control, CONTROL.exitRequested, 1);
		this.ring.wake();
		// A close() that was not awaited may have ended already (see DeliveryHost#closeOnce).
		if (Atomics.load(control, CONTROL.hostClosed) === 0) Atomics.wait(control, CONTROL.exitDone, 0, Math.max(0, deadline - Date.now()) + 1000);
		// Its reports (an `abandoned` among them) came while this thread was blocked.
		for (let m = receiveMessageOnPort(this.#port!); m; m = receiveMessageOnPort(this.#port!)) this.#receive(m.message as FromHost);
		return true;
	}


	#send(message: ToHost): void {
		if (this.#port) this.#port.postMessage(message);
		else if (this.#host) void this.#host.handle(message);
	}

	#receive(message: FromHost): void {
		switch (message.op) {
			case 'created':
				return this.#executions.get(message.slot)?.deref()?.created(message.url);
			case 'cancel':
				return this.#executions.get(message.slot)?.deref()?.cancel(message.reason);
			case 'error':
				// A full queue over there and a full ring here are one outage: said once.
				if (message.code === 'dropped') {
					if (this.#dropReported && this.#overflowCount > 0) return;
					this.#dropReported = true;
				}
				return this.#reportSafely(new RunwatchClientError(message.code, message.message, message.executionId, message.status));
			case 'done': {
				const waiting = this.#waiting.get(message.id);
				this.#waiting.delete(message.id);
				waiting?.resolve(message.ok);
				return;
			}
		}
	}

	#reportSafely(error: RunwatchClientError): void {
		try {
			this.#report(error);
		} catch {
			// an onError that throws must not reach the agent
		}
	}

	/** An event after `close()`: nothing reads the ring any more. Counted as dropped, as before close it would have been sent. */
	#afterClose(): void {
		this.ring.counters[COUNTERS.ringDropped]! += 1;
	}

	/** A record too big for the ring at all (it could never go): dropped, and said. */
	#tooBig(error: Error): void {
		this.ring.counters[COUNTERS.ringDropped]! += 1;
		this.#reportSafely(new RunwatchClientError('dropped', `an event was dropped: ${error.message}`, ''));
	}

	/** Records the opening of an execution: never dropped. */
	#essential(write: () => boolean): void {
		if (this.#overflowHead === this.#overflow.length || this.#retryOverflow()) {
			try {
				if (write()) return;
			} catch (error) {
				return this.#tooBig(error as Error);
			}
		}
		this.#keep(write, true, 0, false);
	}

	/** Keeps a record the ring refused until it has room, or drops it when over the budget. */
	#keep(write: () => boolean, essential: boolean, units: number, event = true): void {
		const { maxQueueEvents, maxQueueBytes } = this.#config;
		if (!essential && (this.stats().queued >= maxQueueEvents || (this.#overflowUnits + units) * 2 > maxQueueBytes)) {
			this.ring.counters[COUNTERS.ringDropped]! += 1;
			if (!this.#dropReported) {
				this.#dropReported = true;
				this.#reportSafely(new RunwatchClientError('dropped', `event queue full (${maxQueueEvents} events / ${maxQueueBytes} bytes): newer events are dropped until the server catches up`, ''));
			}
			return;
		}
		this.#overflow.push({ write, units, event });
		if (event) this.#overflowEvents++;
		this.#overflowUnits += units;
		this.#retryLater();
	}

	/** Writes what waits, in order, as far as the ring has room; true when nothing waits any more. */
	#retryOverflow(): boolean {
		while (this.#overflowHead < this.#overflow.length) {
			const next = this.#overflow[this.#overflowHead]!;
			try {
				if (!next.write()) break;
			} catch (error) {
				this.#tooBig(error as Error);
			}
			this.#overflow[this.#overflowHead++] = undefined!;
			this.#overflowUnits -= next.units;
			if (next.event) this.#overflowEvents--;
		}
		if (this.#overflowHead < this.#overflow.length) {
			this.#retryLater();
			return false;
		}
		if (this.#overflow.length > 0) {
			this.#overflow = [];
			this.#overflowHead = 0;
			// The burst is through: the next one is a new outage, said again.
			this.#dropReported = false;
		}
		return true;
	}

	get #overflowCount(): number {
		return this.#overflow.length - this.#overflowHead;
	}

	/** Waits (keeping the process alive) until what waits for the ring is in it, or the deadline. */
	async #writeOverflow(deadline: number): Promise<void> {
		if (this.#retryOverflow()) return;
		const release = this.hold();
		try {
			while (!this.#closed && !this.#retryOverflow() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, OVERFLOW_RETRY_MS));
		} finally {
			release();
		}
	}

	#retryLater(): void {
		this.#overflowTimer ??= setTimeout(() => {
			this.#overflowTimer = undefined;
			this.#retryOverflow();
		}, OVERFLOW_RETRY_MS).unref();
	}

	#shutDown(): void {
		clearTimeout(this.#overflowTimer);
		this.#overflowTimer = undefined;
		// What still waited for room in the ring is given up, like the queue over there.
		this.ring.counters[COUNTERS.ringDropped]! += this.#overflowEvents;
		this.#overflow = [];
		this.#overflowHead = 0;
		this.#overflowUnits = 0;
		this.#overflowEvents = 0;
		const worker = this.#worker;
		this.#worker = undefined;
		this.#host = undefined;
		this.#port?.close();
		this.#port = undefined;
		if (worker) void worker.terminate();
		this.#opened.clear();
		// Requests made meanwhile (another close, a flush) get their answer: nothing more goes.
		for (const { resolve } of this.#waiting.values()) resolve(false);
		this.#waiting.clear();
	}
}
