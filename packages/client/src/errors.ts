/** What went wrong delivering events. Reported through `onError`; never thrown into the agent. */
export type RunwatchErrorCode =
	/** The server could not be reached (network error, timeout, 5xx, 429); events are kept and retried. Reported once per outage. */
	| 'unreachable'
	/** The server refused a request for good (a 4xx other than 408/429): those events are lost (`stats().failed`). */
	| 'refused'
	/** The queue was full: new events were dropped (`stats().dropped`). Reported once per outage. */
	| 'dropped'
	/** `close()`/`flush()` on exit ran out of time with events still queued: they were given up (`stats().dropped`). */
	| 'abandoned';

export class RunwatchClientError extends Error {
	override name = 'RunwatchClientError';
	constructor(
		/** What happened; see {@link RunwatchErrorCode}. */
		readonly code: RunwatchErrorCode,
		message: string,
		/** The execution concerned. */
		readonly executionId: string,
		/** The HTTP status, when the server answered. */
		readonly status?: number
	) {
		super(message);
	}
}
