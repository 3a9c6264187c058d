import type { StoredEvent } from '$lib/protocol/events';
import type { UsageTotals } from '$lib/protocol/executions';

/*
 * Formatting shared by the server render and the browser. Everything is in UTC and locale-free:
 * the server and the viewer's browser must produce the same text, or hydration would show the
 * server's version until the next update.
 */

/** `14:03:07.123` (UTC). */
export function formatClock(ts: string): string {
	const date = new Date(ts);
	return Number.isNaN(date.getTime()) ? ts : date.toISOString().slice(11, 23);
}

/** `2025-01-31 14:03:07 UTC`. */
export function formatDateTime(ts: string | undefined): string {
	if (!ts) return '—';
	const date = new Date(ts);
	return Number.isNaN(date.getTime()) ? ts : `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `1m 05s`, `3.2 s`, `450 ms`. */
export function formatDuration(fromTs: string | undefined, toTs: string | undefined): string {
	if (!fromTs || !toTs) return '—';
	const ms = Date.parse(toTs) - Date.parse(fromTs);
	if (!Number.isFinite(ms) || ms < 0) return '—';
	if (ms < 1000) return `${ms} ms`;
	if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
	const minutes = Math.floor(ms / 60_000);
	const seconds = Math.floor((ms % 60_000) / 1000);
	return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
}

export function formatUsage(usage: UsageTotals): string {
	const tokens = usage.inputTokens + usage.outputTokens;
	if (!tokens && !usage.costUsd) return '—';
	const parts = [`${tokens.toLocaleString('en-US')} tokens`];
	if (usage.costUsd) parts.push(formatCost(usage.costUsd));
	return parts.join(' · ');
}

/** Longest detail shown on one timeline row; the full event is one click away later. */
const MAX_DETAIL_CHARS = 200;

/** Terminal escape sequences (colours, cursor moves): shown as colour in the output panel, dropped from one-line summaries. */
const ANSI_ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

function clip(text: string): string {
	const flat = text.replace(ANSI_ESCAPES, '').replace(/\s+/g, ' ').trim();
	return flat.length > MAX_DETAIL_CHARS ? `${flat.slice(0, MAX_DETAIL_CHARS - 1)}…` : flat;
}

function record(value: unknown): Record<string, unknown> {
	return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

function summarise(value: unknown): string {
	if (value === undefined) return '';
	if (typeof value === 'string') return clip(value);
	try {
		return clip(JSON.stringify(value));
	} catch {
		return '';
	}
}

/** The one-line text of a timeline row, by event type. Unknown types show their data as JSON. */
export function describeEvent(event: StoredEvent, stepName?: string): string {
	const data = record(event.data);
	switch (event.type) {
		case 'log':
		case 'error':
			return clip(String(data.message ?? ''));
		case 'output':
			return summarise(data.text);
		case 'step-start':
			return String(data.name ?? '');
		case 'step-end': {
			const name = stepName ?? event.stepId ?? '';
			if (data.error !== undefined) return clip(`${name} failed: ${summarise(data.error)}`);
			return name;
		}
		case 'usage': {
			const u = record(event.data);
			const parts = [];
			if (typeof u.inputTokens === 'number') parts.push(`${u.inputTokens} in`);
			if (typeof u.outputTokens === 'number') parts.push(`${u.outputTokens} out`);
			if (typeof u.costUsd === 'number') parts.push(formatCost(u.costUsd));
			return parts.join(' · ');
		}
		case 'agent-start':
			return summarise(data.input);
		case 'agent-complete':
			return summarise(data.output);
		case 'cancel-requested':
			return summarise(data.reason) || 'a viewer asked the agent to stop';
		case 'cancelled':
			return summarise(data.reason);
		default:
			return summarise(event.data);
	}
}

/** `1.2 s`, `3m 05s`, `2h 04m`: a length of time in milliseconds. */
export function formatMs(ms: number): string {
	if (!Number.isFinite(ms) || ms < 0) return '—';
	if (ms < 1000) return `${Math.round(ms)} ms`;
	if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
	if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m ${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
	return `${Math.floor(ms / 3_600_000)}h ${String(Math.floor((ms % 3_600_000) / 60_000)).padStart(2, '0')}m`;
}

/** How long an execution has run: to its end, or to `now` while it runs. */
export function elapsedMs(startedAt: string | undefined, endedAt: string | undefined, now: number): number | undefined {
	if (!startedAt) return undefined;
	const start = Date.parse(startedAt);
	const end = endedAt ? Date.parse(endedAt) : now;
	return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, end - start) : undefined;
}

/** `+1.234 s` from the execution's start: the timeline's time column. */
export function formatOffset(ts: string, startMs: number | undefined): string {
	const at = Date.parse(ts);
	if (startMs === undefined || !Number.isFinite(at)) return formatClock(ts);
	const ms = at - startMs;
	if (ms < 0) return `−${formatMs(-ms)}`;
	if (ms < 60_000) return `+${(ms / 1000).toFixed(3)} s`;
	return `+${formatMs(ms)}`;
}

/** `12,345`. */
export function formatCount(n: number): string {
	return n.toLocaleString('en-US');
}

/** Below this, a cost shows as `<$0.0001` rather than as zero. */
const SMALLEST_COST_USD = 0.0001;

/**
 * One rule for every cost: under a dollar, to a hundredth of a cent with zeros past the cents
 * dropped (`$0.0208`, `$0.0055`, `$0.50`); from a dollar on, to the cent (`$1.27`, `$1,204.50`).
 * `—` for nothing spent.
 */
export function formatCost(usd: number): string {
	if (!usd || !Number.isFinite(usd) || usd < 0) return '—';
	if (usd < SMALLEST_COST_USD) return `<$${SMALLEST_COST_USD}`;
	if (usd < 1) return `$${usd.toFixed(4).replace(/(\.\d\d\d*?)0+$/, '$1')}`;
	// Rounds to the cent first, so that 999.999 shows as $1,000.00.
	return `$${(Math.round(usd * 100) / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** `just now`, `3 min ago`, `5 h ago`, `12 days ago`: how long before `now` a moment was. */
export function formatAgo(ts: string | undefined, now: number): string {
	const at = ts ? Date.parse(ts) : Number.NaN;
	if (!Number.isFinite(at)) return '';
	// A clock a little ahead of this viewer's is "just now" too.
	const ms = Math.max(0, now - at);
	if (ms < 60_000) return 'just now';
	if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ago`;
	if (ms < 48 * 3_600_000) return `${Math.floor(ms / 3_600_000)} h ago`;
	return `${Math.floor(ms / 86_400_000)} days ago`;
}

/** `812 in · 64 out`. */
export function formatTokens(usage: UsageTotals): string {
	if (!usage.inputTokens && !usage.outputTokens) return '—';
	return `${formatCount(usage.inputTokens)} in · ${formatCount(usage.outputTokens)} out`;
}
