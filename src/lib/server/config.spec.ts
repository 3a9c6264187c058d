import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DEFAULT_INGEST_RATE, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS } from '../protocol/limits.js';
import { DEFAULT_HOST, DEFAULT_PORT, loadConfig } from './config.js';

let dir: string;
beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), 'runwatch-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig', () => {
	test('REDIS_URL: unset means one node; a redis:// or rediss:// URL is kept; anything else stops startup naming REDIS_URL', () => {
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir }).redisUrl).toBeUndefined();
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir, REDIS_URL: 'redis://127.0.0.1:6379' }).redisUrl).toBe('redis://127.0.0.1:6379');
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir, REDIS_URL: 'rediss://u:p@cache:6380/2' }).redisUrl).toBe('rediss://u:p@cache:6380/2');
		for (const bad of ['localhost:6379', 'http://cache:6379', 'redis://', 'redis://cache:6379/db', 'not a url']) {
			expect(() => loadConfig({ RUNWATCH_DATA_DIR: dir, REDIS_URL: bad }), bad).toThrow(/^REDIS_URL/);
		}
	});

	test('RUNWATCH_REDIS_PREFIX namespaces the channels (default runwatch:)', () => {
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir }).redisPrefix).toBe('runwatch:');
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_REDIS_PREFIX: 'team-a:' }).redisPrefix).toBe('team-a:');
		expect(() => loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_REDIS_PREFIX: 'has space' })).toThrow(/RUNWATCH_REDIS_PREFIX/);
	});

	test('defaults: loopback, port 3000, a generated token kept with mode 0600', () => {
		const dataDir = join(dir, 'data');
		const config = loadConfig({ RUNWATCH_DATA_DIR: dataDir });
		expect(config.host).toBe(DEFAULT_HOST);
		expect(DEFAULT_HOST).toBe('127.0.0.1');
		expect(config.port).toBe(DEFAULT_PORT);
		expect(config.dataDir).toBe(dataDir);
		expect(config.ingestTokenGenerated).toBe(true);
		expect(config.ingestToken).toMatch(/^rw_[A-Za-z0-9_-]{32}$/);
		const file = config.ingestTokenFile!;
		expect(readFileSync(file, 'utf8').trim()).toBe(config.ingestToken);
		expect(statSync(file).mode & 0o777).toBe(0o600);
	});

	test('the second start reuses the kept token', () => {
		const first = loadConfig({ RUNWATCH_DATA_DIR: dir });
		const second = loadConfig({ RUNWATCH_DATA_DIR: dir });
		expect(second.ingestToken).toBe(first.ingestToken);
		expect(second.ingestTokenGenerated).toBe(false);
	});

	test('an empty token file is replaced, and tightened to 0600', () => {
		const file = join(dir, 'ingest-token');
		writeFileSync(file, '', { mode: 0o644 });
		const config = loadConfig({ RUNWATCH_DATA_DIR: dir });
		expect(config.ingestTokenGenerated).toBe(true);
		expect(statSync(file).mode & 0o777).toBe(0o600);
	});

	test('RUNWATCH_INGEST_TOKEN wins and writes no file', () => {
		const config = loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_INGEST_TOKEN: '  a-long-enough-token-123 ' });
		expect(config.ingestToken).toBe('a-long-enough-token-123');
		expect(config.ingestTokenFile).toBeUndefined();
		expect(() => statSync(join(dir, 'ingest-token'))).toThrow();
	});

	test('explains what to fix', () => {
		expect(() => loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_INGEST_TOKEN: 'short' })).toThrow(/at least 16/);
		expect(() => loadConfig({ RUNWATCH_DATA_DIR: dir, PORT: 'eighty' })).toThrow(/PORT/);
		expect(() => loadConfig({ RUNWATCH_DATA_DIR: dir, PORT: '70000' })).toThrow(/PORT/);
		expect(() => loadConfig({ RUNWATCH_DATA_DIR: dir, DATABASE_URL: 'mysql://x' })).toThrow(/postgres/);
		expect(() => loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_INGEST_FAST_PATH: 'maybe' })).toThrow(/RUNWATCH_INGEST_FAST_PATH/);
	});

	test('RUNWATCH_RETENTION_DAYS: unset is none; a positive number of days; anything else stops startup naming it', () => {
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir }).retentionDays).toBeUndefined();
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_RETENTION_DAYS: '30' }).retentionDays).toBe(30);
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_RETENTION_DAYS: ' 0.5 ' }).retentionDays).toBe(0.5);
		for (const bad of ['0', '-3', 'thirty', '30d', '1e3', 'Infinity', '999999']) {
			expect(() => loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_RETENTION_DAYS: bad }), bad).toThrow(
				/RUNWATCH_RETENTION_DAYS must be a positive number of days/
			);
		}
	});

	test('the ingest fast path is on unless switched off', () => {
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir }).ingestFastPath).toBe(true);
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_INGEST_FAST_PATH: 'off' }).ingestFastPath).toBe(false);
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_INGEST_FAST_PATH: 'ON' }).ingestFastPath).toBe(true);
	});

	test('HOST and PORT are read', () => {
		const config = loadConfig({ RUNWATCH_DATA_DIR: dir, HOST: '0.0.0.0', PORT: '8080', ORIGIN: 'https://x.example' });
		expect(config).toMatchObject({ host: '0.0.0.0', port: 8080, origin: 'https://x.example' });
	});

	test('limits: the ingest rate (or off) and connections per address, with defaults', () => {
		const defaults = loadConfig({ RUNWATCH_DATA_DIR: dir });
		expect(defaults.ingestRate).toBe(DEFAULT_INGEST_RATE);
		expect(defaults.maxConnectionsPerAddress).toBe(DEFAULT_MAX_CONNECTIONS_PER_ADDRESS);
		expect(DEFAULT_MAX_CONNECTIONS_PER_ADDRESS).toBe(64);
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_INGEST_RATE: 'off' }).ingestRate).toBeUndefined();
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_INGEST_RATE: '5_000' }).ingestRate).toBe(5000);
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS: '10000' }).maxConnectionsPerAddress).toBe(10000);
		expect(() => loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_INGEST_RATE: 'fast' })).toThrow(/^RUNWATCH_INGEST_RATE must be/);
		expect(() => loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_INGEST_RATE: '0' })).toThrow(/^RUNWATCH_INGEST_RATE must be/);
		expect(() => loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS: '-1' })).toThrow(
			/^RUNWATCH_MAX_CONNECTIONS_PER_ADDRESS must be/
		);
	});

	test("frame-ancestors: 'none' by default, origins when configured, startup refused when malformed", () => {
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir }).frameAncestors).toBe("'none'");
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_FRAME_ANCESTORS: 'https://wiki.example.com' }).frameAncestors).toBe(
			'https://wiki.example.com'
		);
		expect(() => loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_FRAME_ANCESTORS: "'none'; script-src *" })).toThrow(
			/^RUNWATCH_FRAME_ANCESTORS must be/
		);
	});

	test('the client address comes from the socket unless ADDRESS_HEADER names a trusted header', () => {
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir })).toMatchObject({ addressHeader: undefined, xffDepth: 1 });
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir, ADDRESS_HEADER: 'X-Forwarded-For', XFF_DEPTH: '2' })).toMatchObject({
			addressHeader: 'x-forwarded-for',
			xffDepth: 2
		});
	});

	test('RUNWATCH_STALL_SECONDS: ten minutes by default, whole seconds, and a wrong value says so', () => {
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir }).stallSeconds).toBe(600);
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_STALL_SECONDS: '90' }).stallSeconds).toBe(90);
		expect(loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_STALL_SECONDS: ' ' }).stallSeconds).toBe(600);
		for (const wrong of ['0', '-5', '1.5', '10m', 'soon', '1e3']) {
			expect(() => loadConfig({ RUNWATCH_DATA_DIR: dir, RUNWATCH_STALL_SECONDS: wrong })).toThrow(
				new RegExp(`^RUNWATCH_STALL_SECONDS must be a whole number of seconds.*got "${wrong}"$`)
			);
		}
	});
});
