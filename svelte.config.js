import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// adapter-node gives us `build/handler.js`; `server/index.js` wraps it so that
		// WebSocket upgrades reach the hub (SvelteKit itself never sees upgrades).
		// `npm test` builds into a folder of its own (RUNWATCH_BUILD_DIR, see scripts/test.js), so
		// that it never replaces the build a running `npm start` serves.
		adapter: adapter({ out: process.env.RUNWATCH_BUILD_DIR || 'build' }),
		// The API takes JSON only (415 otherwise) behind a bearer token, and answers a form post in
		// its own JSON error shape; hooks.server.ts checks the origin of form posts to pages.
		csrf: { trustedOrigins: ['*'] },
		// No inline script: SvelteKit adds a nonce (server-rendered pages) or a hash (prerendered)
		// for its own bootstrap script. Styles come from CSS files ('self'); `style="..."`
		// attributes are allowed (style-src-attr) because virtua positions rows with them and the
		// timeline's bars and ANSI colours are per-element values computed by our code, never
		// text from an agent. <style> elements stay forbidden. `frame-ancestors` is added at run
		// time (RUNWATCH_FRAME_ANCESTORS; src/lib/server/http/security-headers.ts). 'self' in
		// connect-src covers ws:/wss: to the same host (CSP Level 3).
		csp: {
			mode: 'auto',
			directives: {
				'default-src': ['self'],
				'script-src': ['self'],
				'style-src': ['self'],
				'style-src-attr': ['unsafe-inline'],
				'img-src': ['self', 'data:'],
				'font-src': ['self'],
				'connect-src': ['self'],
				'object-src': ['none'],
				'base-uri': ['self'],
				'form-action': ['self']
			}
		}
	}
};

export default config;
