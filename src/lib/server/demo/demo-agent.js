// The demo agent: sends two realistic executions through the public HTTP API, exactly as a real
// agent would. Plain JavaScript so that `npm run demo` (scripts/demo.js) runs it with bare Node,
// and the dashboard's "Run demo agent" button runs the same code inside the server.
//
// Two different agents, each with its own story: a research assistant that searches, reads and
// answers (completes), and an invoice reconciler that pulls invoices and bank lines, matches
// them and fails on a record it cannot match. They share no text, tools or models. Each script
// runs about a minute (DEMO_SECONDS), long enough to watch a step start, stream and end.

/**
 * @typedef {object} DemoOptions
 * @property {string} baseUrl  Where Runwatch listens, e.g. http://127.0.0.1:3000
 * @property {string} token    The ingest token
 * @property {typeof fetch} [fetch]
 * @property {number} [speed]  How much faster than real time the scripts play (default 1: about a minute)
 * @property {(ms: number) => Promise<void>} [sleep]  For tests
 */

/** How long each demo execution runs at speed 1, in seconds (give or take a second). */
export const DEMO_SECONDS = 60;

/** @param {number} ms */
const realSleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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
 * One beat of a script: wait `pause` ms (at speed 1), then send `event`.
 * @typedef {{ pause: number, event: Record<string, unknown> }} Beat
 */

/**
 * Streamed `output` of an LLM step, a few words per event, `pause` ms apart.
 * @param {string} text @param {string} stepId @param {number} pause
 * @returns {Beat[]}
 */
function stream(text, stepId, pause) {
	const words = text.split(/(?<= )/);
	/** @type {Beat[]} */
	const beats = [];
	for (let i = 0; i < words.length; i += 3) {
		beats.push({
			pause,
			event: { type: 'output', stepId: `${stepId}-out`, parentStepId: stepId, data: { text: words.slice(i, i + 3).join(''), stream: 'stdout' } }
		});
	}
	return beats;
}

/** @param {number} pause @param {Record<string, unknown>} event @returns {Beat} */
const beat = (pause, event) => ({ pause, event });

/** @param {'debug' | 'info' | 'warn' | 'error'} level @param {string} message */
const log = (level, message) => ({ type: 'log', data: { level, message } });

/** The research assistant: plans, searches, reads three sources, writes the answer; completes. */
function researchScript() {
	const question = 'What changed in the EU AI Act’s final text for general-purpose AI models?';
	const model = 'claude-sonnet-4.5';
	/** @type {Beat[]} */
	const beats = [
		beat(300, { type: 'agent-start', data: { input: { question, depth: 'thorough', maxSources: 3 } } }),
		beat(700, log('info', 'Tools available: web_search, fetch_page, extract_quotes')),
		beat(800, { type: 'step-start', stepId: 'plan', data: { name: 'plan research', kind: 'llm', input: { model, temperature: 0.2, messages: [{ role: 'user', content: question }] } } }),
		...stream('Plan: 1) find the final text and the Council summary; 2) read the GPAI chapter; 3) compare with the 2023 draft; 4) answer with citations.\n', 'plan', 450),
		beat(600, { type: 'step-end', stepId: 'plan', data: { output: { plan: ['find sources', 'read GPAI chapter', 'compare with draft', 'answer'] }, usage: { inputTokens: 1_184, outputTokens: 96, costUsd: 0.0050 } } }),
		beat(900, { type: 'step-start', stepId: 'search', data: { name: 'web_search', kind: 'tool', input: { query: 'AI Act general-purpose AI obligations final text Official Journal', limit: 8 } } }),
		beat(2_600, log('debug', 'web_search: 8 results in 2.4 s')),
		beat(400, { type: 'step-end', stepId: 'search', data: { output: { results: [{ title: 'Regulation (EU) 2024/1689', url: 'https://eur-lex.europa.eu/eli/reg/2024/1689/oj' }, { title: 'AI Act: Council gives final green light', url: 'https://www.consilium.europa.eu/en/press/' }, { title: 'GPAI Code of Practice', url: 'https://digital-strategy.ec.europa.eu/en/policies/ai-code-practice' }] } } }),
		beat(900, { type: 'step-start', stepId: 'read-1', data: { name: 'fetch_page', kind: 'tool', input: { url: 'https://eur-lex.europa.eu/eli/reg/2024/1689/oj', selector: 'Chapter V' } } }),
		beat(3_200, log('debug', 'fetch_page: 412 KB, Chapter V is articles 51–56')),
		beat(500, { type: 'step-end', stepId: 'read-1', data: { output: { bytes: 421_876, articles: ['51', '52', '53', '54', '55', '56'] } } }),
		beat(800, { type: 'step-start', stepId: 'read-2', data: { name: 'fetch_page', kind: 'tool', input: { url: 'https://www.consilium.europa.eu/en/press/', selector: 'article' } } }),
		beat(2_400, { type: 'step-end', stepId: 'read-2', data: { output: { bytes: 38_204, title: 'Artificial intelligence (AI) act: Council gives final green light' } } }),
		beat(800, { type: 'step-start', stepId: 'read-3', data: { name: 'fetch_page', kind: 'tool', input: { url: 'https://digital-strategy.ec.europa.eu/en/policies/ai-code-practice' } } }),
		beat(2_800, log('warn', 'fetch_page: slow response (2.7 s), consider caching this source')),
		beat(400, { type: 'step-end', stepId: 'read-3', data: { output: { bytes: 61_530, sections: ['transparency', 'copyright', 'safety and security'] } } }),
		beat(800, { type: 'step-start', stepId: 'quotes', data: { name: 'extract_quotes', kind: 'tool', input: { sources: 3, about: 'obligations of GPAI providers' } } }),
		beat(2_400, { type: 'step-end', stepId: 'quotes', data: { output: { quotes: 7, articles: ['53(1)(a)', '53(1)(c)', '53(1)(d)', '55(1)'] } } }),
		beat(700, { type: 'usage', data: { inputTokens: 9_412, outputTokens: 0, costUsd: 0.0282 } }),
		beat(800, { type: 'step-start', stepId: 'answer', data: { name: 'write answer', kind: 'llm', input: { model, temperature: 0.3, messages: [{ role: 'system', content: 'Answer with citations.' }, { role: 'user', content: question }] } } }),
		...stream(
			'The final text keeps two tiers for general-purpose AI models. Every provider must keep technical documentation, ' +
				'inform downstream providers, put a copyright policy in place and publish a summary of the training content (Art. 53). ' +
				'Models with systemic risk (above 10^25 FLOPs of training compute, or designated by the Commission) must also run ' +
				'evaluations and adversarial testing, report serious incidents and ensure cybersecurity (Art. 55). ' +
				'Compared with the 2023 draft, the threshold moved into the law and a Code of Practice became the way to show compliance.\n',
			'answer',
			450
		),
		beat(600, { type: 'step-end', stepId: 'answer', data: { output: { citations: 4, words: 96 }, usage: { inputTokens: 11_230, outputTokens: 214, costUsd: 0.0369 } } }),
		beat(600, log('info', 'Answer written with 4 citations from 3 sources')),
		beat(500, { type: 'agent-complete', data: { output: { answer: 'Two tiers: all GPAI providers document, share with downstream providers, respect copyright and publish a training summary; systemic-risk models also evaluate, report incidents and secure.', citations: ['Art. 53', 'Art. 55', 'Council press release', 'Code of Practice'] } } })
	];
	return {
		execution: {
			agent: { name: 'research-assistant', model, version: '2.3.0' },
			department: { name: 'Research' },
			metadata: { source: 'demo', topic: 'EU AI Act', requestedBy: 'policy-team' }
		},
		beats
	};
}

/** The invoice reconciler: pulls invoices and bank lines, matches them, fails on an unknown vendor. */
function invoiceScript() {
	const model = 'gpt-4.1-mini';
	/** @type {Beat[]} */
	const beats = [
		beat(300, { type: 'agent-start', data: { input: { period: '2026-11', entity: 'Northwind Trading GmbH', currency: 'EUR' } } }),
		beat(700, log('info', 'Connecting to the ERP (read-only) and the bank feed')),
		beat(800, { type: 'step-start', stepId: 'invoices', data: { name: 'erp.list_invoices', kind: 'tool', input: { status: 'open', from: '2026-11-01', to: '2026-11-30' } } }),
		beat(3_000, log('debug', 'erp.list_invoices: page 1/3 (100 invoices)')),
		beat(2_000, log('debug', 'erp.list_invoices: page 2/3 (100 invoices)')),
		beat(1_800, { type: 'step-end', stepId: 'invoices', data: { output: { count: 248, totalEur: 1_284_310.55 } } }),
		beat(800, { type: 'step-start', stepId: 'bank', data: { name: 'bank.fetch_statement', kind: 'tool', input: { account: 'DE89 3704 0044 0532 0130 00', month: '2026-11' } } }),
		beat(3_400, { type: 'step-end', stepId: 'bank', data: { output: { lines: 231, creditsEur: 1_201_992.1 } } }),
		beat(800, { type: 'step-start', stepId: 'match', data: { name: 'match_payments', kind: 'tool', input: { strategy: 'reference, then amount ± 0.01 and date ± 3 days', invoices: 248, lines: 231 } } }),
		beat(3_000, log('info', 'Matched 219 of 248 invoices by payment reference')),
		beat(2_400, log('info', 'Matched 7 more by amount and date')),
		beat(600, { type: 'step-end', stepId: 'match', data: { output: { matched: 226, unmatchedInvoices: 22, unmatchedLines: 5 } } }),
		beat(800, { type: 'step-start', stepId: 'classify', data: { name: 'classify unmatched lines', kind: 'llm', input: { model, temperature: 0, messages: [{ role: 'user', content: 'Classify these 5 bank lines: partial payment, fee, refund or unknown.' }] } } }),
		...stream('INV-2026-1187: partial payment (2 of 3). INV-2026-1203: bank fee deducted, EUR 12.50. Line 77: refund to Contoso. Line 142: unknown payer "NW-TRD-REF 0093".\n', 'classify', 500),
		beat(600, { type: 'step-end', stepId: 'classify', data: { output: { partial: 2, fee: 1, refund: 1, unknown: 1 }, usage: { inputTokens: 2_406, outputTokens: 118, costUsd: 0.0011 } } }),
		beat(800, { type: 'step-start', stepId: 'adjust', data: { name: 'ledger.post_adjustment', kind: 'tool', input: { account: '6855 bank charges', amountEur: 12.5, reference: 'INV-2026-1203', dryRun: true } } }),
		beat(2_600, { type: 'step-end', stepId: 'adjust', data: { output: { journalEntry: 'JE-2026-11-0412', status: 'drafted' } } }),
		beat(800, { type: 'step-start', stepId: 'vendor', data: { name: 'erp.lookup_vendor', kind: 'tool', input: { reference: 'NW-TRD-REF 0093' } } }),
		beat(3_200, log('warn', 'erp.lookup_vendor: no vendor with this reference, trying IBAN')),
		beat(2_400, {
			type: 'step-end',
			stepId: 'vendor',
			data: { error: { message: 'VendorNotFound: no vendor with reference "NW-TRD-REF 0093" or IBAN GB33 BUKB 2020 1555 5555 55', type: 'VendorNotFound' } }
		}),
		beat(700, { type: 'usage', data: { inputTokens: 310, outputTokens: 0, costUsd: 0.0001 } }),
		beat(600, log('error', '22 invoices stay open; reconciliation for 2026-11 is incomplete')),
		beat(500, {
			type: 'error',
			data: {
				message: 'Reconciliation stopped: bank line 142 (EUR 4,180.00) has no vendor; a person must assign it',
				stack:
					'VendorNotFound: no vendor with reference "NW-TRD-REF 0093"\n    at lookupVendor (reconcile/vendors.ts:88:11)\n    at reconcileLine (reconcile/match.ts:142:5)\n    at reconcilePeriod (reconcile/index.ts:57:9)'
			}
		})
	];
	return {
		execution: {
			agent: { name: 'invoice-reconciler', model, version: '0.9.1' },
			department: { name: 'Finance' },
			metadata: { source: 'demo', period: '2026-11', entity: 'Northwind Trading GmbH' }
		},
		beats
	};
}

/**
 * The demo's two executions and their scripts: first the one that completes, then the one that fails.
 * @returns {Array<{ execution: { agent: { name: string, model: string, version: string }, department: { name: string }, metadata: Record<string, string> }, beats: Beat[] }>}
 */
export function demoScripts() {
	return [researchScript(), invoiceScript()].map(({ execution, beats }) => ({ execution, beats: stretch(beats, DEMO_SECONDS * 1000) }));
}

/**
 * The beats with their pauses scaled so that they add up to `totalMs`: the scripts above give
 * the rhythm (a tool call takes longer than a log line), this gives the length.
 * @param {Beat[]} beats @param {number} totalMs
 */
function stretch(beats, totalMs) {
	const written = beats.reduce((sum, b) => sum + b.pause, 0);
	return beats.map((b) => ({ pause: Math.round((b.pause * totalMs) / written), event: b.event }));
}

/**
 * The demo's speed from `RUNWATCH_DEMO_SPEED` (a positive number; default 1, about a minute).
 * @param {NodeJS.ProcessEnv} env
 */
export function demoSpeed(env) {
	const raw = env.RUNWATCH_DEMO_SPEED?.trim();
	if (!raw) return 1;
	const speed = Number(raw);
	if (!(speed > 0) || !Number.isFinite(speed)) throw new Error(`RUNWATCH_DEMO_SPEED must be a positive number (1 plays the demo in about a minute), got "${raw}"`);
	return speed;
}

/**
 * Creates the demo executions, then streams their events in the background.
 * Resolves once both executions exist; `done` settles when every event is sent.
 * @param {DemoOptions} options
 * @returns {Promise<{ executionIds: string[], urls: string[], done: Promise<void> }>}
 */
export async function startDemoAgent(options) {
	const client = ingestClient(options);
	const speed = options.speed ?? 1;
	const sleep = options.sleep ?? realSleep;
	const scripts = demoScripts();
	const created = await Promise.all(
		scripts.map(({ execution }) => client.createExecution({ id: newId(execution.agent.name), ...execution }))
	);
	const done = Promise.all(
		created.map(async (execution, index) => {
			for (const { pause, event } of scripts[index]?.beats ?? []) {
				await sleep(pause / speed);
				await client.send(execution.id, event);
			}
		})
	).then(() => undefined);
	return { executionIds: created.map((e) => e.id), urls: created.map((e) => e.url), done };
}
