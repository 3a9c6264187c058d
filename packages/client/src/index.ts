/**
 * @runwatch/client: send an agent's execution to Runwatch.
 *
 * ```ts
 * import { createRunwatch } from '@runwatch/client';
 * const runwatch = createRunwatch(); // RUNWATCH_URL, RUNWATCH_TOKEN
 * const run = await runwatch.start({ agent: 'researcher' });
 * await run.step('search', async () => search(q), { kind: 'tool' });
 * run.complete();
 * await runwatch.close();
 * ```
 */
export { createRunwatch, Runwatch, type Named, type StartOptions } from './client.js';
export type { RunwatchOptions } from './config.js';
export { RunwatchClientError, type RunwatchErrorCode } from './errors.js';
export { Execution, type LogLevel, type StepContext, type StepKind, type StepOptions, type Usage } from './execution.js';
export type { DeliveryStats } from './sender.js';
