import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { clientMessageSchema, serverMessageSchema } from '../../protocol/messages.js';
import { anyInputArb, badIdArb, idArb, mutate } from '../../protocol/testing/arbitraries.js';
import type { EventBatch } from '../hub/batch.js';
import { Hub } from '../hub/hub.js';
import { createSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { ViewerSession, type ViewerChannel } from './viewer-session.js';

/*
 * The frame handler every transport shares, fed anything a client could send: it never throws,
 * answers each frame it cannot take with one `error`, only ever sends messages the client's own
 * schema accepts, and still answers a `ping` afterwards.
 */

let store: Store;
let hub: Hub;

beforeAll(async () => {
	store = createSqliteStore({ file: ':memory:' });
	await store.createExecution({ id: 'r1', agent: { name: 'a' }, metadata: {}, createdAt: new Date().toISOString() });
	hub = new Hub({ store });
});

afterAll(async () => {
	hub.close();
	await store.close();
});

class RecordingChannel implements ViewerChannel {
	readonly messages: Record<string, unknown>[] = [];
	readonly batches: EventBatch[] = [];
	bufferedAmount = 0;
	closed = false;
	deliver(batch: EventBatch): void {
		this.batches.push(batch);
	}
	sendMessage(message: object): void {
		// As the socket would: the message goes out as JSON text.
		this.messages.push(JSON.parse(JSON.stringify(message)));
	}
}

function session(mayView: (executionId?: string) => boolean = () => true) {
	const channel = new RecordingChannel();
	return { channel, session: new ViewerSession(channel, { hub, store, mayView, maxSubscriptions: 4 }) };
}

const goodFrameArb = fc.oneof(
	fc.constantFrom({ type: 'ping' }, { type: 'subscribe-executions' }, { type: 'unsubscribe-executions' }),
	fc.record({ type: fc.constantFrom('subscribe', 'unsubscribe'), executionId: fc.oneof(fc.constant('r1'), idArb) }),
	fc.record({ type: fc.constant('subscribe'), executionId: fc.constant('r1'), since: fc.nat() })
);

/** Anything: JSON values, strings, near-misses of valid frames, bad ids in the right place. */
const frameArb = fc.oneof(
	{ weight: 3, arbitrary: anyInputArb },
	{ weight: 1, arbitrary: fc.string() },
	{ weight: 3, arbitrary: mutate(goodFrameArb) },
	{ weight: 2, arbitrary: goodFrameArb },
	{ weight: 1, arbitrary: fc.record({ type: fc.constantFrom('subscribe', 'unsubscribe'), executionId: badIdArb }) }
);

describe('ViewerSession, fed anything', () => {
	test('never throws; one error per refused frame; every reply valid for the client; ping still answered', async () => {
		await fc.assert(
			fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 8 }), fc.boolean(), async (frames, mayViewAll) => {
				const { channel, session: viewer } = session(mayViewAll ? () => true : (id) => id === 'r1');
				for (const frame of frames) {
					const before = channel.messages.length;
					await viewer.receive(frame);
					const replies = channel.messages.slice(before);
					if (!clientMessageSchema.safeParse(frame).success) {
						expect(replies).toHaveLength(1);
						expect(replies[0]).toMatchObject({ type: 'error', code: 'bad_request' });
					}
				}
				for (const message of channel.messages) {
					const parsed = serverMessageSchema.safeParse(message);
					if (!parsed.success) throw new Error(`the client would refuse ${JSON.stringify(message)}: ${parsed.error.message}`);
				}
				const before = channel.messages.length;
				await viewer.receive({ type: 'ping' });
				expect(channel.messages.slice(before)).toEqual([{ type: 'pong' }]);
				viewer.close();
				expect(viewer.subscriptionCount).toBe(0);
			}),
			{ numRuns: 100 }
		);
		expect(hub.stats().subscriptions).toBe(0);
	}, 20_000);
});
