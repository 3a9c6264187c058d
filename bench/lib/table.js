// Plain-text table rendering for the terminal.

/** Formats a number with thousands separators and a fixed number of decimals. */
export function fmt(value, decimals = 0) {
	if (typeof value !== 'number' || !Number.isFinite(value)) return '-';
	return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/**
 * Renders rows (arrays of strings) under headers, numbers right-aligned.
 * `align` is an optional array of 'l' | 'r' per column (default: first column left, rest right).
 */
export function renderTable(headers, rows, align) {
	const cols = headers.length;
	const widths = headers.map((h, i) => Math.max(String(h).length, ...rows.map((r) => String(r[i] ?? '').length)));
	const al = align ?? headers.map((_, i) => (i === 0 ? 'l' : 'r'));
	const cell = (text, i) => (al[i] === 'l' ? String(text).padEnd(widths[i]) : String(text).padStart(widths[i]));
	const line = (r) => '| ' + Array.from({ length: cols }, (_, i) => cell(r[i] ?? '', i)).join(' | ') + ' |';
	const sep = '|' + widths.map((w, i) => (al[i] === 'l' ? ':' + '-'.repeat(w + 1) : '-'.repeat(w + 1) + ':')).join('|') + '|';
	return [line(headers), sep, ...rows.map(line)].join('\n');
}
