/** The browser signals the connection manager reacts to; injectable so tests need no DOM. */
export interface ConnectionEnvironment {
	/** Receives `online`. */
	window?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;
	/** Receives `visibilitychange`. */
	document?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> & { visibilityState: string };
	navigator?: { onLine: boolean };
}

export function defaultEnvironment(): ConnectionEnvironment {
	return {
		window: typeof window === 'undefined' ? undefined : window,
		document: typeof document === 'undefined' ? undefined : document,
		navigator: typeof navigator === 'undefined' ? undefined : navigator
	};
}

/**
 * Calls `wake` when the browser comes back online or the tab becomes visible again: moments when
 * a connection that is waiting to retry should try at once. Listens only while `watch(true)`.
 */
export class EnvironmentWatch {
	readonly #env: ConnectionEnvironment;
	readonly #wake: () => void;
	#watching = false;

	constructor(env: ConnectionEnvironment, wake: () => void) {
		this.#env = env;
		this.#wake = wake;
	}

	/** False when the browser says it is offline; true when it does not know. */
	get online(): boolean {
		return this.#env.navigator?.onLine !== false;
	}

	watch(on: boolean): void {
		if (on === this.#watching) return;
		this.#watching = on;
		const method = on ? 'addEventListener' : 'removeEventListener';
		this.#env.window?.[method]('online', this.#onOnline);
		this.#env.document?.[method]('visibilitychange', this.#onVisibility);
	}

	readonly #onOnline = (): void => this.#wake();
	readonly #onVisibility = (): void => {
		if (this.#env.document?.visibilityState === 'visible') this.#wake();
	};
}
