import { appendFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { SECRET_SETTINGS, URL_SETTINGS } from '../../src/config.ts';

/**
 * Every Hibiki the suite runs (in-process deps and `hibiki` child processes) writes its pino
 * JSON under test-artifacts/logs/, so that the log scan, run after the suite, can read
 * every line. Each `vitest run` has a directory of its own, made by global-setup.ts, so a
 * second run at the same time (another terminal) neither adds to nor deletes this one's.
 */
export const LOG_ROOT = fileURLToPath(new URL('../../test-artifacts/logs/', import.meta.url));

/** Set in vitest's main process by global-setup.ts; its test workers inherit it. */
export const LOG_DIR_VARIABLE = 'HIBIKI_TEST_LOG_DIR';

/** A run's directory name: sorts by start time. */
export const runDirName = (started: Date, pid: number): string =>
  `run-${started.toISOString().replace(/[:.]/g, '-')}-${pid}`;

/** This run's directory; outside a `vitest run` (a script using the helpers), one for such strays. */
export function logDir(): string {
  return process.env[LOG_DIR_VARIABLE] ?? join(LOG_ROOT, 'outside-vitest');
}

/** The directory to scan: this run's, or, for the scan run on its own, the newest run's. */
export function scanDir(): string | undefined {
  const own = process.env[LOG_DIR_VARIABLE];
  if (own) return own;
  let runs: string[] = [];
  try {
    runs = readdirSync(LOG_ROOT).filter((d) => d.startsWith('run-'));
  } catch {
    return undefined;
  }
  const newest = runs.sort().at(-1);
  return newest ? join(LOG_ROOT, newest) : undefined;
}

/**
 * The level the suite logs at: debug, so that the lines a deployment only sees while
 * debugging are scanned too.
 */
export const TEST_LOG_LEVEL = 'debug';

/** pino's numeric levels, to compare a child's line with the level its test asked for. */
export const LEVEL_NUMBER: Record<string, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

/** A file of this test process's own; `<pid>-` keeps the two vitest workers' files apart. */
export function logFilePath(name: string): string {
  return join(logDir(), `${process.pid}-${name}.jsonl`);
}

let shared: pino.DestinationStream | undefined;

/**
 * One append-only file per test process for every in-process logger. Synchronous writes:
 * vitest ends a worker without waiting for an asynchronous buffer to drain, and a line
 * that never reaches the file is a line the scan cannot check.
 */
export function testLogDestination(): pino.DestinationStream {
  shared ??= pino.destination({ dest: logFilePath('deps'), append: true, mkdir: true, sync: true });
  return shared;
}

/** Shorter values ('x', 'key') would match ordinary words in a log line. */
const MIN_SECRET_LENGTH = 8;

const recorded = new Set<string>();

/**
 * Notes the secret values of an environment a test hands to Hibiki, in a file of their own
 * beside the logs (never a .jsonl, so never scanned as a log), for the scan to look for.
 */
export function recordSecrets(env: Record<string, string | undefined>): void {
  const values: string[] = SECRET_SETTINGS.map((k) => env[k] ?? '');
  for (const k of URL_SETTINGS) {
    try {
      values.push(decodeURIComponent(new URL(env[k] ?? '').password));
    } catch {
      // Not a URL (sqlite:…) or unset: no password.
    }
  }
  const fresh = values.filter((v) => v.length >= MIN_SECRET_LENGTH && !recorded.has(v));
  if (fresh.length === 0) return;
  for (const v of fresh) recorded.add(v);
  mkdirSync(logDir(), { recursive: true });
  appendFileSync(join(logDir(), `${process.pid}-secrets.txt`), fresh.map((v) => `${JSON.stringify(v)}\n`).join(''));
}
