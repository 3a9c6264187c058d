import { RunwatchError } from '../errors.js';
import type { Access, Principal } from './access.js';
import { credentialsOf, isSameOriginPage } from './credentials.js';

/** One resolution per request: the hook resolves it for pages, handlers ask again for free. */
const resolved = new WeakMap<Request, Promise<Principal>>();

export function principalOf(access: Access, request: Request): Promise<Principal> {
	let principal = resolved.get(request);
	if (!principal) resolved.set(request, (principal = access.resolve(credentialsOf(request))));
	return principal;
}

/** The error for a principal that may not do something: 401 when it holds nothing, else 403. */
export function accessDenied(principal: Principal, what: string): RunwatchError {
	if (principal.kind === 'anonymous') {
		return new RunwatchError('unauthorized', `Sign in or use a share link to ${what}`);
	}
	if (principal.kind === 'shares') {
		return new RunwatchError('forbidden', `A share link is read-only and covers one execution; it does not allow you to ${what}`);
	}
	return new RunwatchError('forbidden', `You may not ${what}`);
}

/** Resolves the request's principal and insists it may view `executionId` (or, without one, everything). */
export async function requireView(access: Access, request: Request, executionId?: string): Promise<Principal> {
	const principal = await principalOf(access, request);
	if (!access.mayView(principal, executionId)) {
		throw accessDenied(principal, executionId ? 'view this execution' : 'view executions');
	}
	return principal;
}

/** Insists the request may write (cancel, share, delete): see `Access.mayWrite`. */
export async function requireWrite(access: Access, request: Request, configuredOrigin: string | undefined, what: string): Promise<Principal> {
	const principal = await principalOf(access, request);
	const fromPage = isSameOriginPage(request.headers.get('origin'), request.headers.get('host'), configuredOrigin);
	if (!access.mayWrite(principal, fromPage)) {
		if (principal.kind === 'open') {
			throw new RunwatchError(
				'forbidden',
				`To ${what}, send the ingest token, sign in, or use the dashboard of this server`
			);
		}
		throw accessDenied(principal, what);
	}
	return principal;
}
