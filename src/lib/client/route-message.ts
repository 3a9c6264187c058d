import type { ServerMessage } from '../protocol/messages.js';
import type { ExecutionListFeed } from './execution-list-feed.js';
import type { FollowedExecutions } from './followed-executions.js';

/** Hands one server message from the live transport to whoever it is for. */
export function routeMessage(
	message: ServerMessage,
	to: { followed: FollowedExecutions; list: ExecutionListFeed; diagnostic: (message: string) => void }
): void {
	switch (message.type) {
		case 'event':
			return to.followed.onEvents(message.executionId, [message.event]);
		case 'events':
			return to.followed.onEvents(message.executionId, message.events);
		case 'subscribed':
			return to.followed.onSubscribed(message.executionId, message.lastSeq);
		case 'error': {
			const error = { code: message.code, message: message.message };
			if (!message.executionId || !to.followed.onError(message.executionId, error)) {
				to.diagnostic(`server error ${message.code}: ${message.message}`);
			}
			return;
		}
		case 'execution':
			return to.list.onExecution(message.execution);
		case 'execution-deleted':
			return to.list.onDeleted(message.executionId);
		case 'executions-subscribed':
			return to.list.onSubscribed();
		case 'pong':
		case 'session': // the SSE transport's own business; it never needs to reach here
			return;
	}
}
