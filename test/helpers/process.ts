import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LEVEL_NUMBER, logDir, logFilePath, recordSecrets, TEST_LOG_LEVEL } from '../log-scan/log-dir.ts';

const BIN = fileURLToPath(new URL('../../src/bin.mjs', import.meta.url));

export interface HibikiProcess {
  child: ChildProcess;
  /** What the process wrote, for a failing test's message. */
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/** A pino line's numeric level, or undefined for anything else the process printed. */
function pinoLevel(line: string): number | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const level = (JSON.parse(line) as { level?: unknown }).level;
    return typeof level === 'number' ? level : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts `hibiki <command>` as its own process, as the README starts it.
 *
 * The process logs at debug whatever LOG_LEVEL the test gives, and every pino line goes
 * to test-artifacts/logs/ for the log scan (test/log-scan). output() shows what the test
 * asked for: the lines at or above its LOG_LEVEL (info when unset, as in a deployment)
 * and everything that is not a log line (a printed token, a configuration error).
 */
export function startHibiki(
  command: string | string[],
  env: Record<string, string>,
  options: {
    nodeArgs?: string[];
    cwd?: string;
    /** The level the child logs at; a benchmark runs at a deployment's level, as debug lines cost time. */
    logLevel?: string;
  } = {},
): HibikiProcess {
  const args = Array.isArray(command) ? command : [command];
  recordSecrets(env);
  const shown = LEVEL_NUMBER[env.LOG_LEVEL ?? 'info'] ?? LEVEL_NUMBER.info ?? 30;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
    cwd: options.cwd,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      ...env,
      LOG_LEVEL: options.logLevel ?? TEST_LOG_LEVEL,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  mkdirSync(logDir(), { recursive: true });
  const logFile = logFilePath(`hibiki-${args[0] ?? 'none'}-${child.pid ?? 'unstarted'}`);
  let out = '';
  const take = (stream: NodeJS.ReadableStream | null) => {
    // Chunks split lines anywhere: keep the unfinished tail until its newline arrives.
    let partial = '';
    const line = (text: string) => {
      const level = pinoLevel(text);
      if (level !== undefined) appendFileSync(logFile, `${text}\n`);
      if (level === undefined || level >= shown) out += `${text}\n`;
    };
    stream?.on('data', (d: Buffer | string) => {
      const lines = (partial + String(d)).split('\n');
      partial = lines.pop() ?? '';
      for (const text of lines) line(text);
    });
    stream?.on('end', () => {
      if (partial !== '') line(partial);
      partial = '';
    });
  };
  take(child.stdout);
  take(child.stderr);
  const exited = new Promise<number | string>((resolve) => {
    // 'close', not 'exit': by then both streams have ended and output() holds every line.
    child.on('close', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return { child, output: () => out, exited };
}
