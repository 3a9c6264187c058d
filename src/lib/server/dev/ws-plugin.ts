import type { Plugin } from 'vite';

const WS_PATH = '/api/ws';

/**
 * In `vite dev` there is no `server/index.js`: this plugin hands `/api/ws` upgrades to the same
 * runtime SvelteKit's dev server uses. Every other upgrade (Vite's own HMR socket) is left alone.
 */
export function runwatchDevSockets(): Plugin {
	return {
		name: 'runwatch-dev-sockets',
		apply: 'serve',
		configureServer(server) {
			const loadRuntime = () => server.ssrLoadModule('/src/lib/server/runtime.ts');
			// Create the runtime at startup (not on the first request) and print the same banner as
			// `npm start`: the token and a curl example.
			server.httpServer?.once('listening', () => {
				const url = server.resolvedUrls?.local[0]?.replace(/\/$/, '') ?? 'http://localhost:5173';
				loadRuntime()
					.then((mod) => mod.getRuntime())
					.then((runtime) => server.config.logger.info('\n' + runtime.banner(url) + '\n'))
					.catch((error: unknown) => server.config.logger.error(`[runwatch] could not start: ${String(error)}`));
			});
			server.httpServer?.on('upgrade', (request, socket, head) => {
				const path = (request.url ?? '').split('?')[0];
				if (path !== WS_PATH) return;
				loadRuntime()
					.then((mod) => mod.getRuntime())
					.then((runtime) => runtime.ws.handleUpgrade(request, socket, head))
					.catch((error: unknown) => {
						server.config.logger.error(`[runwatch] WebSocket upgrade failed: ${String(error)}`);
						socket.destroy();
					});
			});
		}
	};
}
