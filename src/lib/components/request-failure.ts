import { errorBodySchema } from '$lib/protocol/messages';

/** What to tell a person about a failed API request: the server's own message when it sent one. */
export async function requestFailure(response: Response): Promise<string> {
	const parsed = errorBodySchema.safeParse(await response.json().catch(() => null));
	return parsed.success ? parsed.data.error.message : `The server answered ${response.status}`;
}
