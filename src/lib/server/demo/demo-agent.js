// The demo agent: sends two realistic executions through the public HTTP API, exactly as a real
// agent would. Plain JavaScript so that `npm run demo` (scripts/demo.js) runs it with bare Node,
// and the dashboard's "Run demo agent" button runs the same code inside the server.

/**
 * @typedef {object} DemoOptions
 * @property {string} baseUrl  Where Runwatch listens, e.g. http://127.0.0.1:3000
 * @property {string} token    The ingest token
 * @property {typeof fetch} [fetch]
 * @property {number} [delayMs]  Pause between events, so that a person can watch (default 120)
 */

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @param {string} prefix */
const newId = (prefix) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * A small client for the ingest API, with the errors the server sends turned into exceptions
 * that say what went wrong.
 * @param {DemoOptions} options
 */
function ingestClient({ baseUrl, token, fetch: fetchImpl = fetch }) {
	const base = baseUrl.replace(/\/$/, '');
	/** @param {string} path @param {unknown} body */
	async function post(path, body) {
		const response = await fetchImpl(`${base}${path}`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
			body: JSON.stringify(body)
		});
		const payload = await response.json().catch(() => null);
		if (!response.ok) {
			const message = payload?.error?.message ?? response.statusText;
			throw new Error(`POST ${path} failed with ${response.status}: ${message}`);
		}
		return payload;
	}
	return {
		/** @param {Record<string, unknown>} body @returns {Promise<{ id: string, url: string }>} */
		createExecution: (body) => post('/api/executions', body),
		/** @param {string} id @param {Record<string, unknown>} event */
		send: (id, event) => post(`/api/executions/${encodeURIComponent(id)}/events`, event)
	};
}

/**
 * The script of one execution: a list of events with the pause before each.
 * @param {boolean} fails
 */
function script(fails) {
	const question = fails
		? 'Reconcile last month’s invoices against the ledger'
		: 'What changed in the EU AI Act’s final text for general-purpose models?';
	/** @type {Array<Record<string, unknown>>} */
	const events = [
		{ type: 'agent-start', data: { input: { question } } },
		{ type: 'log', data: { level: 'info', message: 'Planning with 3 tools available: web_search, fetch_page, python' } },
		{ type: 'step-start', stepId: 'plan', data: { name: 'plan', kind: 'llm', input: { model: 'gpt-4.1', messages: 2 } } },
		...chunks('Plan: search for the final text, read the summary, compare with the draft.\n', 'plan'),
		{ type: 'step-end', stepId: 'plan', data: { output: { steps: 3 }, usage: { inputTokens: 812, outputTokens: 64, costUsd: 0.0021 } } },
		{ type: 'step-start', stepId: 'search', data: { name: 'web_search', kind: 'tool', input: { query: fails ? 'ledger export march' : 'AI Act GPAI obligations final text' } } },
		{ type: 'step-end', stepId: 'search', data: { output: { results: 8, top: 'eur-lex.europa.eu' } } },
		{ type: 'step-start', stepId: 'read', data: { name: 'fetch_page', kind: 'tool', input: { url: 'https://example.org/doc' } } },
		{ type: 'log', data: { level: 'debug', message: 'fetched 48 KB in 310 ms' } }
	];
	if (fails) {
		events.push(
			{ type: 'step-end', stepId: 'read', data: { output: { bytes: 48_211 } } },
			{ type: 'step-start', stepId: 'python', data: { name: 'python', kind: 'tool', input: { code: 'ledger.reconcile(invoices)' } } },
			{ type: 'log', data: { level: 'warn', message: '3 invoices have no matching ledger entry' } },
			{ type: 'step-end', stepId: 'python', data: { error: { message: 'KeyError: \u0027vendor_id\u0027' } } },
			{ type: 'usage', data: { inputTokens: 1200, outputTokens: 90, costUsd: 0.0034 } },
			{
				type: 'error',
				data: {
					message: 'Tool python failed: KeyError: \u0027vendor_id\u0027',
					stack: "Traceback (most recent call last):\n  File \"reconcile.py\", line 42, in reconcile\n    row['vendor_id']\nKeyError: 'vendor_id'"
				}
			}
		);
	} else {
		events.push(
			{ type: 'step-end', stepId: 'read', data: { output: { bytes: 48_211 } } },
			{ type: 'step-start', stepId: 'answer', data: { name: 'answer', kind: 'llm', input: { model: 'gpt-4.1', messages: 5 } } },
			...chunks(
				'The final text keeps the two tiers for general-purpose models. ' +
					'Providers must publish a training-content summary and respect opt-outs; ' +
					'models with systemic risk add evaluations, incident reporting and cybersecurity duties.\n',
				'answer'
			),
			{ type: 'step-end', stepId: 'answer', data: { usage: { inputTokens: 5230, outputTokens: 412, costUsd: 0.0187 } } },
			{ type: 'agent-complete', data: { output: { answer: 'See the streamed output.' } } }
		);
	}
	return events;
}

/** Splits text into streamed `output` events of a few words each. @param {string} text @param {string} stepId */
function chunks(text, stepId) {
	const words = text.split(/(?<= )/);
	/** @type {Array<Record<string, unknown>>} */
	const out = [];
	for (let i = 0; i < words.length; i += 4) {
		out.push({ type: 'output', stepId: `${stepId}-out`, parentStepId: stepId, data: { text: words.slice(i, i + 4).join(''), stream: 'stdout' } });
	}
	return out;
}

/**
 * Creates the demo executions, then streams their events in the background.
 * Resolves once both executions exist; `done` settles when every event is sent.
 * @param {DemoOptions} options
 * @returns {Promise<{ executionIds: string[], urls: string[], done: Promise<void> }>}
 */
export async function startDemoAgent(options) {
	const client = ingestClient(options);
	const delay = options.delayMs ?? 120;
	const runs = [
		{ agent: { name: 'research-assistant', model: 'gpt-4.1' }, department: { name: 'Research' }, fails: false },
		{ agent: { name: 'invoice-reconciler', model: 'gpt-4.1-mini' }, department: { name: 'Finance' }, fails: true }
	];
	const created = await Promise.all(
		runs.map((run) =>
			client.createExecution({
				id: newId(run.agent.name),
				agent: run.agent,
				department: run.department,
				metadata: { source: 'demo', env: 'local' }
			})
		)
	);
	const done = Promise.all(
		created.map(async (execution, index) => {
			for (const event of script(runs[index]?.fails ?? false)) {
				await sleep(delay);
				await client.send(execution.id, event);
			}
		})
	).then(() => undefined);
	return { executionIds: created.map((e) => e.id), urls: created.map((e) => e.url), done };
}
