// Small statistics helpers. Benchmarks report medians: robust to one noisy run.

/** Median of the finite numbers in `values` (NaN when there are none). */
export function median(values) {
	const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
	if (xs.length === 0) return NaN;
	const mid = xs.length >> 1;
	return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** For each numeric key present in every run, the median across runs. */
export function medianOf(runs, keys) {
	const out = {};
	for (const key of keys) out[key] = median(runs.map((r) => r[key]));
	return out;
}
