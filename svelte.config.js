import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// adapter-node gives us `build/handler.js`; `server/index.js` wraps it so that
		// WebSocket upgrades reach the hub (SvelteKit itself never sees upgrades).
		adapter: adapter({ out: 'build' }),
		// The API takes JSON only (415 otherwise) behind a bearer token, and answers a form post in
		// its own JSON error shape; hooks.server.ts checks the origin of form posts to pages.
		csrf: { trustedOrigins: ['*'] }
	}
};

export default config;
