import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_DIR_VARIABLE, LOG_ROOT, runDirName } from './log-dir.ts';

/** An older run's directory still written to this recently is another run going on now. */
const LIVE_RUN_MS = 15 * 60_000;

/**
 * vitest's global setup, once in the main process before the suite: a fresh directory for
 * this run's logs, so the scan reads this run's lines only, never an old run's. Old runs'
 * directories are removed; one written to in the last minutes belongs to a run in
 * another terminal and is left to it.
 */
export function setup(): void {
  mkdirSync(LOG_ROOT, { recursive: true });
  const now = Date.now();
  for (const entry of readdirSync(LOG_ROOT)) {
    const path = join(LOG_ROOT, entry);
    const live = entry.startsWith('run-') && now - statSync(path).mtimeMs < LIVE_RUN_MS;
    if (!live) rmSync(path, { recursive: true, force: true });
  }
  const dir = join(LOG_ROOT, runDirName(new Date(), process.pid));
  mkdirSync(dir, { recursive: true });
  // The test workers vitest starts after this inherit the variable (and with it the directory).
  process.env[LOG_DIR_VARIABLE] = dir;
}
