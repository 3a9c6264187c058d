import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_INGEST_RATE, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS } from '../protocol/limits.js';
import { DEFAULT_STALL_SECONDS } from '../protocol/stall.js';
import { isLoopbackHost } from './access/credentials.js';
import { parseFrameAncestors } from './http/security-headers.js';

export interface RunwatchConfig {
	/** Where the SQLite file and generated secrets live. */
	dataDir: string;
	/** Bearer token every ingest request must carry. */
	ingestToken: string;
	/** True when this start generated the token (first start): the banner prints it. */
	ingestTokenGenerated: boolean;
	/** File the generated token is kept in (absent when it came from the environment). */
	ingestTokenFile?: string;
	/**
	 * The secret viewers sign in with. From RUNWATCH_VIEWER_TOKEN; generated at first start (and
	 * kept in the data directory) when the server listens beyond loopback without one.
	 */
	viewerToken?: string;
	viewerTokenGenerated: boolean;
	viewerTokenFile?: string;
	host: string;
	port: number;
	/** Public origin, when set (adapter-node's ORIGIN); used for links and the Origin check. */
	origin?: string;
	databaseUrl?: string;
	redisUrl?: string;
	/** Prefix of every Redis channel (`RUNWATCH_REDIS_PREFIX`, default `runwatch:`): one Redis, several deployments. */
	redisPrefix: string;
	/**
	 * Whether the Node entry takes `POST .../events`, `POST /v1/traces` and the SSE streams before SvelteKit
	 * (default on; `RUNWATCH_INGEST_FAST_PATH=off` sends them through the SvelteKit routes, as
	 * `vite dev` does).
	 */
	ingestFastPath: boolean;
	/** Events per second one ingest token may send (`RUNWATCH_INGEST_RATE`); undefined when off. */
	ingestRate: number | undefined;
	/** Live streams (WebSocket + SSE) one client address may hold (`RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS`). */
	maxConnectionsPerAddress: number;
	/** The CSP `frame-ancestors` source list (`RUNWATCH_FRAME_ANCESTORS`, default `'none'`). */
	frameAncestors: string;
	/** adapter-node's `ADDRESS_HEADER` (lower case): where a trusted proxy puts the client's address. */
	addressHeader?: string;
	/** adapter-node's `XFF_DEPTH`: trusted proxies in front, for `X-Forwarded-For`. */
	xffDepth: number;
	/**
	 * An unfinished execution with no event for this long shows as stalled (RUNWATCH_STALL_SECONDS,
	 * default ten minutes). Only pages read it: stalled is derived in the browser, never stored.
	 */
	stallSeconds: number;
	/** `RUNWATCH_RETENTION_DAYS`: executions that ended more than this many days ago are deleted. */
	retentionDays?: number;
}

/** Loopback unless HOST says otherwise: a fresh install must not be reachable from the network. */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 3000;
const TOKEN_FILE = 'ingest-token';
const VIEWER_TOKEN_FILE = 'viewer-token';

function readOrCreateToken(dataDir: string, name = TOKEN_FILE, prefix = 'rw_'): { token: string; generated: boolean; file: string } {
	const file = join(dataDir, name);
	if (existsSync(file)) {
		const token = readFileSync(file, 'utf8').trim();
		if (token) return { token, generated: false, file };
	}
	const token = `${prefix}${randomBytes(24).toString('base64url')}`;
	writeFileSync(file, token + '\n', { mode: 0o600 });
	chmodSync(file, 0o600); // the mode above is ignored when the file already existed (empty)
	return { token, generated: true, file };
}

function parseSwitch(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
	const value = env[name]?.trim().toLowerCase();
	if (!value) return fallback;
	if (['on', 'true', '1', 'yes'].includes(value)) return true;
	if (['off', 'false', '0', 'no'].includes(value)) return false;
	throw new Error(`${name} must be "on" or "off", got "${env[name]}"`);
}

function parsePositiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
	const value = env[name]?.trim();
	if (!value) return fallback;
	const number = Number(value.replaceAll('_', ''));
	if (!Number.isSafeInteger(number) || number < 1) throw new Error(`${name} must be a whole number of at least 1, got "${env[name]}"`);
	return number;
}

/** `RUNWATCH_INGEST_RATE`: events per second, or `off`. */
function parseIngestRate(env: NodeJS.ProcessEnv): number | undefined {
	const value = env.RUNWATCH_INGEST_RATE?.trim().toLowerCase();
	if (value === 'off') return undefined;
	return parsePositiveInteger(env, 'RUNWATCH_INGEST_RATE', DEFAULT_INGEST_RATE);
}

function parseStallSeconds(env: NodeJS.ProcessEnv): number {
	const raw = env.RUNWATCH_STALL_SECONDS?.trim();
	if (!raw) return DEFAULT_STALL_SECONDS;
	const seconds = Number(raw);
	if (!/^\d+$/.test(raw) || !Number.isSafeInteger(seconds) || seconds < 1) {
		throw new Error(`RUNWATCH_STALL_SECONDS must be a whole number of seconds, at least 1 (default ${DEFAULT_STALL_SECONDS}), got "${env.RUNWATCH_STALL_SECONDS}"`);
	}
	return seconds;
}

/** A positive number of days (fractions allowed), or undefined when unset. */
function parseDays(env: NodeJS.ProcessEnv, name: string): number | undefined {
	const raw = env[name]?.trim();
	if (!raw) return undefined;
	const days = Number(raw);
	if (!/^\d+(\.\d+)?$/.test(raw) || !(days > 0) || days > 365_000) {
		throw new Error(`${name} must be a positive number of days (e.g. 30), got "${env[name]}"`);
	}
	return days;
}

/**
 * `REDIS_URL`: a redis:// or rediss:// URL, or unset (one node, no Redis). A wrong one stops
 * startup: silently running without the other nodes' news would look like it works.
 */
function parseRedisUrl(raw: string | undefined): string | undefined {
	const value = raw?.trim();
	if (!value) return undefined;
	let url: URL;
	try {
		url = new URL(value);
	} catch {
		throw new Error('REDIS_URL is not a URL; expected redis://host:6379 (or rediss:// for TLS), or unset it to run one node without Redis');
	}
	if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
		throw new Error(`REDIS_URL must start with redis:// or rediss://, got "${url.protocol}//…"; unset it to run one node without Redis`);
	}
	if (!url.hostname) throw new Error('REDIS_URL names no host; expected redis://host:6379');
	if (url.pathname.length > 1 && !/^\/\d+$/.test(url.pathname)) {
		throw new Error(`REDIS_URL's path must be a database number (redis://host:6379/0), got "${url.pathname}"`);
	}
	return value;
}

/** Reads the environment once. Throws with a sentence saying what to fix. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RunwatchConfig {
	const dataDir = resolve(env.RUNWATCH_DATA_DIR || './data');
	mkdirSync(dataDir, { recursive: true, mode: 0o700 });

	const port = env.PORT ? Number(env.PORT) : DEFAULT_PORT;
	if (!Number.isInteger(port) || port < 0 || port > 65535) {
		throw new Error(`PORT must be a port number (0-65535), got "${env.PORT}"`);
	}

	let ingestToken = env.RUNWATCH_INGEST_TOKEN?.trim() ?? '';
	let ingestTokenGenerated = false;
	let ingestTokenFile: string | undefined;
	if (!ingestToken) {
		const stored = readOrCreateToken(dataDir);
		ingestToken = stored.token;
		ingestTokenGenerated = stored.generated;
		ingestTokenFile = stored.file;
	} else if (ingestToken.length < 16) {
		throw new Error('RUNWATCH_INGEST_TOKEN must be at least 16 characters long');
	}

	const host = env.HOST || DEFAULT_HOST;
	let viewerToken = env.RUNWATCH_VIEWER_TOKEN?.trim() || undefined;
	let viewerTokenGenerated = false;
	let viewerTokenFile: string | undefined;
	if (viewerToken && viewerToken.length < 16) {
		throw new Error('RUNWATCH_VIEWER_TOKEN must be at least 16 characters long');
	}
	if (!viewerToken && !isLoopbackHost(host)) {
		// Reachable from the network: never open. People sign in with a generated secret.
		const stored = readOrCreateToken(dataDir, VIEWER_TOKEN_FILE, 'rwv_');
		viewerToken = stored.token;
		viewerTokenGenerated = stored.generated;
		viewerTokenFile = stored.file;
	}

	const databaseUrl = env.DATABASE_URL || undefined;
	if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
		throw new Error('DATABASE_URL must be a postgres:// URL (unset it to use the embedded SQLite store)');
	}

	const redisUrl = parseRedisUrl(env.REDIS_URL);
	const redisPrefix = env.RUNWATCH_REDIS_PREFIX ?? 'runwatch:';
	if (!/^[\x21-\x7e]{0,100}$/.test(redisPrefix)) {
		throw new Error(`RUNWATCH_REDIS_PREFIX must be at most 100 printable characters without spaces, got "${redisPrefix}"`);
	}

	return {
		dataDir,
		ingestToken,
		ingestTokenGenerated,
		ingestTokenFile,
		viewerToken,
		viewerTokenGenerated,
		viewerTokenFile,
		host,
		port,
		origin: env.ORIGIN || undefined,
		databaseUrl,
		redisUrl,
		redisPrefix,
		ingestFastPath: parseSwitch(env, 'RUNWATCH_INGEST_FAST_PATH', true),
		ingestRate: parseIngestRate(env),
		maxConnectionsPerAddress: parsePositiveInteger(env, 'RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS', DEFAULT_MAX_CONNECTIONS_PER_ADDRESS),
		frameAncestors: parseFrameAncestors(env.RUNWATCH_FRAME_ANCESTORS),
		addressHeader: env.ADDRESS_HEADER?.trim().toLowerCase() || undefined,
		xffDepth: parsePositiveInteger(env, 'XFF_DEPTH', 1),
		stallSeconds: parseStallSeconds(env),
		retentionDays: parseDays(env, 'RUNWATCH_RETENTION_DAYS')
	};
}
