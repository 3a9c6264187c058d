// Preloaded into server processes for the memory scenario (`node --expose-gc --require this`):
// on SIGUSR2, run a full garbage collection (twice: weak callbacks and finalizers free more on the
// second pass) and print the RSS afterwards. The benchmark then reads /proc/<pid>/status.
'use strict';
process.on('SIGUSR2', () => {
	if (typeof globalThis.gc !== 'function') {
		console.log('BENCH_GC unavailable (start node with --expose-gc)');
		return;
	}
	globalThis.gc();
	globalThis.gc();
	const m = process.memoryUsage();
	console.log(`BENCH_GC rss=${m.rss} heapUsed=${m.heapUsed} external=${m.external}`);
});
