import type { Runtime } from '$lib/server/runtime';

declare global {
	namespace App {
		interface Locals {
			runwatch: Runtime;
		}
		interface Error {
			message: string;
			code?: string;
		}
	}
}

export {};
