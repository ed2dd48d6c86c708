import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../src/bin.mjs', import.meta.url));

export interface HibikiProcess {
  child: ChildProcess;
  /** What the process wrote, for a failing test's message. */
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/** Starts `hibiki <command>` as its own process, as the README starts it. */
export function startHibiki(
  command: string | string[],
  env: Record<string, string>,
  options: { nodeArgs?: string[]; cwd?: string } = {},
): HibikiProcess {
  const args = Array.isArray(command) ? command : [command];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return { child, output: () => out, exited };
}
