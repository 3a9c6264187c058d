// (a) An open execution page shows events posted through the ingest API as they happen.
import { connectionState, expect, expectRowSeqs, test } from './support/fixtures.ts';
import { executionId, seqs } from './support/runwatch.ts';
import { ANSWER_PARTS, QUESTION, logs } from './support/script.ts';

test('events posted through the API appear live, in order, and the status follows', async ({ page, server }) => {
	const id = executionId('live');
	await server.createExecution({ id, agent: { name: 'e2e-live-agent' }, department: { name: 'Quality' } });

	await page.goto(`/executions/${id}`);
	const status = page.getByTestId('execution-status');
	await expect(status).toHaveText('pending');
	await expect(page.getByText('e2e-live-agent').first()).toBeVisible();
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');
	await expect(page.getByTestId('connection-banner')).toHaveCount(0);
	await expect(page.getByTestId('event-row')).toHaveCount(0);

	// One at a time: each shows up without a reload.
	await server.postEvents(id, { type: 'agent-start', data: { input: { question: QUESTION } } });
	await expectRowSeqs(page, [1]);
	await expect(status).toHaveText('running');

	await server.postEvents(id, { type: 'step-start', stepId: 'answer', data: { name: 'answer', kind: 'llm' } });
	await server.postEvents(id, { type: 'output', stepId: 'answer', data: { text: ANSWER_PARTS[0] } });
	await expectRowSeqs(page, seqs(3));
	await expect(page.getByTestId('output')).toContainText(ANSWER_PARTS[0]!.trim());

	// A batch.
	await server.postEvents(id, [
		{ type: 'output', stepId: 'answer', data: { text: ANSWER_PARTS[1] } },
		{ type: 'step-end', stepId: 'answer', data: { usage: { inputTokens: 120, outputTokens: 30 } } }
	]);
	await expectRowSeqs(page, seqs(5));
	await expect(page.getByTestId('output')).toContainText(ANSWER_PARTS.join(''));
	await expect(status).toHaveText('running');

	await server.postEvents(id, { type: 'agent-complete', data: { output: ANSWER_PARTS.join('') } });
	await expectRowSeqs(page, seqs(6));
	await expect(status).toHaveText('completed');
	await expect(page.getByTestId('connection-banner')).toHaveCount(0);
});

test('a burst of events from concurrent senders arrives complete and in seq order', async ({ page, server }) => {
	const id = executionId('burst');
	await server.createExecution({ id, agent: { name: 'e2e-burst-agent' } });
	await page.goto(`/executions/${id}`);
	await expect(connectionState(page)).toHaveAttribute('data-state', 'open');

	// 4 senders × 5 batches × 10 events, interleaved: seqs are assigned in commit order.
	const senders = Array.from({ length: 4 }, async (_, sender) => {
		for (let batch = 0; batch < 5; batch++) {
			await server.postEvents(id, logs(10, 1000 * sender + 10 * batch));
		}
	});
	await Promise.all(senders);
	const { lastSeq } = await server.postEvents(id, { type: 'error', data: { message: 'gave up after the burst' } });
	expect(lastSeq).toBe(201);

	await expectRowSeqs(page, seqs(201));
	await expect(page.getByTestId('execution-status')).toHaveText('failed');
});
