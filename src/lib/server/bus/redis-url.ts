/**
 * Where REDIS_URL points, without its password (for logs and `/readyz`). Apart from the Redis
 * bus so that the startup banner can say it without loading the Redis client.
 */
export function describeRedisUrl(url: string): string {
	try {
		const parsed = new URL(url);
		return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
	} catch {
		return 'the configured address';
	}
}

