import { exportTraces } from '$lib/server/otlp/export';
import type { RequestHandler } from './$types';

/** OTLP/HTTP trace ingest (OpenTelemetry exporters post to `<endpoint>/v1/traces`). */
export const POST: RequestHandler = ({ request, locals }) => exportTraces(locals.runwatch.ingest, request);
