import { MAX_BODY_BYTES } from '../../protocol/limits.js';
import { RunwatchError } from '../errors.js';

/**
 * Reads a JSON request body within `limit` bytes. Checks Content-Type and Content-Length first
 * and then counts while streaming (a chunked body has no Content-Length to trust), so an
 * oversize body is refused without being held in memory.
 */
export async function readJsonBody(request: Request, limit = MAX_BODY_BYTES): Promise<unknown> {
	const type = request.headers.get('content-type') ?? '';
	if (!/^application\/([\w.+-]+\+)?json\b/i.test(type.trim())) {
		throw new RunwatchError(
			'unsupported_media_type',
			`Send the body as JSON with "Content-Type: application/json"${type ? ` (got "${type}")` : ''}`
		);
	}
	const declared = Number(request.headers.get('content-length') ?? NaN);
	if (declared > limit) throw tooLarge(limit);
	if (!request.body) throw new RunwatchError('invalid_body', 'The request has no body');

	const reader = request.body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		size += value.byteLength;
		if (size > limit) {
			await reader.cancel().catch(() => {});
			throw tooLarge(limit);
		}
		chunks.push(value);
	}
	const text = Buffer.concat(chunks).toString('utf8');
	try {
		return JSON.parse(text);
	} catch (error) {
		throw new RunwatchError('invalid_body', `Body is not valid JSON: ${(error as Error).message}`);
	}
}

function tooLarge(limit: number): RunwatchError {
	return new RunwatchError(
		'payload_too_large',
		`Body is larger than ${limit} bytes; send fewer events per request`
	);
}
