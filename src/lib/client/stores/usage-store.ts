import { readable, type Readable } from 'svelte/store';
import { browser } from '$app/environment';
import { usageReportSchema, type AgentTotals, type UsageReport } from '../../protocol/api.js';
import type { Execution } from '../../protocol/executions.js';
import type { Connection } from '../connection.js';
import { sharedConnection } from './connection-store.js';
import { createBatcher, nextFrame, type FrameScheduler } from './frame.js';

/**
 * The totals above the list (today's runs, failures, tokens and cost per agent), live. Starts
 * from the server's aggregate (`GET /api/usage`) and moves with the list feed: each summary of an
 * execution counted there replaces the share it had; executions created later are added.
 */
export interface LiveUsage {
	usage: UsageReport;
	/** What the aggregate counted for executions that had not ended: replaced, not added to. */
	counted: ReadonlyMap<string, Execution>;
	/** The newest summary of every execution followed since (open at `at`, or created after). */
	latest: ReadonlyMap<string, Execution>;
}

export function liveUsage(usage: UsageReport): LiveUsage {
	const counted = new Map(usage.open.map((execution) => [execution.id, execution]));
	return { usage, counted, latest: counted };
}

/** Summaries only move forward (the list store's rule). */
function later(a: Execution, b: Execution): Execution {
	if (a.lastSeq !== b.lastSeq) return a.lastSeq > b.lastSeq ? a : b;
	return Date.parse(b.updatedAt) >= Date.parse(a.updatedAt) ? b : a;
}

/** The state after live summaries (in any order, from the list feed). */
export function applyUsageUpdates(state: LiveUsage, updates: readonly Execution[]): LiveUsage {
	let latest: Map<string, Execution> | undefined;
	const since = Date.parse(state.usage.since);
	const at = Date.parse(state.usage.at);
	for (const update of updates) {
		const created = Date.parse(update.createdAt);
		const known = (latest ?? state.latest).get(update.id);
		// Counted already and ended before `at` (not followed), or from another day: its share stays.
		if (!known && (created < since || created <= at)) continue;
		latest ??= new Map(state.latest);
		latest.set(update.id, known ? later(known, update) : update);
	}
	return latest ? { ...state, latest } : state;
}

export interface UsageTotals {
	/** The start of the day counted (the viewer's midnight once the page runs; the server renders the UTC day). */
	since: string;
	/** Per agent, most runs first (ties by name). */
	agents: AgentTotals[];
	/** Every agent together. */
	all: Omit<AgentTotals, 'agent'>;
}

function share(execution: Execution): Omit<AgentTotals, 'agent'> {
	return {
		runs: 1,
		failed: execution.status === 'failed' ? 1 : 0,
		inputTokens: execution.usage.inputTokens,
		outputTokens: execution.usage.outputTokens,
		costUsd: execution.usage.costUsd
	};
}

export function usageTotals(state: LiveUsage): UsageTotals {
	const byAgent = new Map<string, AgentTotals>(state.usage.agents.map((row) => [row.agent, { ...row }]));
	const add = (execution: Execution, sign: 1 | -1) => {
		const name = execution.agent.name;
		const row = byAgent.get(name) ?? { agent: name, runs: 0, failed: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
		const part = share(execution);
		row.runs += sign * part.runs;
		row.failed += sign * part.failed;
		row.inputTokens += sign * part.inputTokens;
		row.outputTokens += sign * part.outputTokens;
		// Micro-dollars, as the reducer sums them: no 0.30000000000000004.
		row.costUsd = Math.round((row.costUsd + sign * part.costUsd) * 1e6) / 1e6;
		byAgent.set(name, row);
	};
	for (const [id, execution] of state.latest) {
		if (state.counted.get(id) === execution) continue;
		const before = state.counted.get(id);
		if (before) add(before, -1);
		add(execution, 1);
	}
	const agents = [...byAgent.values()].filter((row) => row.runs > 0).sort((a, b) => b.runs - a.runs || a.agent.localeCompare(b.agent));
	const all = { runs: 0, failed: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
	for (const row of agents) {
		all.runs += row.runs;
		all.failed += row.failed;
		all.inputTokens += row.inputTokens;
		all.outputTokens += row.outputTokens;
		all.costUsd = Math.round((all.costUsd + row.costUsd) * 1e6) / 1e6;
	}
	return { since: state.usage.since, agents, all };
}

/** The viewer's midnight today, as an instant. */
export function localDayStart(now: Date): string {
	return new Date(now.getFullYear(), now.getMonth(), now.getDate()).toISOString();
}

/** Milliseconds from `now` to the viewer's next midnight. */
export function msToNextDay(now: Date): number {
	return new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1).getTime() - now.getTime();
}

export interface UsageStoreOptions {
	connection?: Connection;
	schedule?: FrameScheduler;
	fetch?: typeof fetch;
	/** The clock (tests move it across midnight). */
	now?: () => Date;
}

/**
 * Live totals from the server-rendered aggregate. Applied once per frame, like the list; on every
 * (re)subscribe of the feed the aggregate is read again, since changes before it were not in the feed.
 * The server knows no time zone and renders the UTC day; the first read from the page asks for
 * the viewer's own day, and at the viewer's midnight the totals start over with the new day.
 */
export function usageStore(initial: UsageReport, options: UsageStoreOptions = {}): Readable<UsageTotals> {
	let state = liveUsage(initial);
	return readable(usageTotals(state), (set) => {
		const connection = options.connection ?? (browser ? sharedConnection() : undefined);
		if (!connection) return;
		let stopped = false;
		const batcher = createBatcher<Execution>((updates) => {
			const next = applyUsageUpdates(state, updates);
			if (next === state) return;
			state = next;
			set(usageTotals(state));
		}, options.schedule ?? nextFrame);
		const now = options.now ?? (() => new Date());
		async function refresh(): Promise<void> {
			try {
				const since = localDayStart(now());
				const response = await (options.fetch ?? fetch)(`/api/usage?since=${encodeURIComponent(since)}`, {
					headers: { accept: 'application/json' }
				});
				if (!response.ok || stopped) return;
				const usage = usageReportSchema.parse(await response.json());
				if (stopped) return;
				batcher.flush();
				// Summaries followed so far that are newer than the read are applied again on top.
				state = applyUsageUpdates(liveUsage(usage), [...state.latest.values()].filter((e) => Date.parse(e.updatedAt) > Date.parse(usage.at)));
				set(usageTotals(state));
			} catch {
				// Kept as they were; the next reconnect tries again.
			}
		}
		// A new day: read it (a timer for the next midnight, checked again when it fires: timers drift
		// and sleep with the machine).
		let day = localDayStart(now());
		let rollover: ReturnType<typeof setTimeout> | undefined;
		const scheduleRollover = () => {
			rollover = setTimeout(() => {
				if (stopped) return;
				const today = localDayStart(now());
				if (today !== day) {
					day = today;
					void refresh();
				}
				scheduleRollover();
			}, Math.min(msToNextDay(now()) + 1000, 60 * 60 * 1000));
		};
		scheduleRollover();
		const unsubscribe = connection.subscribeExecutions({
			onExecution: (execution) => batcher.push([execution]),
			// As the list does: what changed between the server render (or a disconnect) and now was not in the feed.
			onSubscribed: () => void refresh()
		});
		return () => {
			stopped = true;
			clearTimeout(rollover);
			unsubscribe();
			batcher.cancel();
		};
	});
}
