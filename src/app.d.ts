import type { Principal } from '$lib/server/access/access';
import type { Runtime } from '$lib/server/runtime';

declare global {
	namespace App {
		interface Locals {
			runwatch: Runtime;
			/** Who is asking, for pages (resolved in `hooks.server.ts`). */
			principal?: Principal;
		}
		interface Error {
			message: string;
			code?: string;
		}
	}
}

export {};
