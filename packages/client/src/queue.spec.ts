import { expect, test } from 'vitest';
import { EventQueue, QueueBudget, type QueuedEvent } from './queue.js';

const item = (n: number, bytes = 10, essential = false): QueuedEvent => ({ json: `{"n":${n}}`, bytes, essential });

test('over the event budget the newest are dropped; essential events are always queued', () => {
	const queue = new EventQueue(new QueueBudget(3, 1_000_000));
	expect([1, 2, 3, 4, 5].map((n) => queue.push(item(n)))).toEqual([true, true, true, false, false]);
	expect(queue.push(item(6, 10, true))).toBe(true);
	expect(queue.peek(100, 1_000_000).map((i) => i.json)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}', '{"n":6}']);
});

test('the byte budget bounds memory too, and is shared by every queue of a client', () => {
	const budget = new QueueBudget(1000, 100);
	const a = new EventQueue(budget);
	const b = new EventQueue(budget);
	expect(a.push(item(1, 60))).toBe(true);
	expect(b.push(item(2, 60))).toBe(false);
	expect(b.push(item(3, 40))).toBe(true);
	expect(budget.bytes).toBe(100);
	a.remove(1);
	expect(budget).toMatchObject({ events: 1, bytes: 40 });
	expect(b.push(item(4, 60))).toBe(true);
});

test('peek takes the oldest that fit in one request, at least one; remove releases them', () => {
	const queue = new EventQueue(new QueueBudget(10_000, 1e9));
	for (let n = 0; n < 2000; n++) queue.push(item(n, 100));
	expect(queue.peek(500, 1e9)).toHaveLength(500);
	expect(queue.peek(1000, 1000)).toHaveLength(10);
	queue.remove(1995);
	expect(queue.length).toBe(5);
	expect(queue.bytes).toBe(500);
	expect(queue.peek(10, 10)[0]!.json).toBe('{"n":1995}');
	expect(queue.peek(10, 10)).toHaveLength(1); // bigger than maxBytes alone: still sent
	expect(queue.clear()).toBe(5);
	expect(queue.budget).toMatchObject({ events: 0, bytes: 0 });
});
