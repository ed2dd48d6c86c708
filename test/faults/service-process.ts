import { notice } from '../helpers/api.ts';
import type { TestDeps } from '../helpers/deps.ts';
import { type HibikiProcess, startHibiki } from '../helpers/process.ts';
import { freePort } from '../helpers/redis-server.ts';
import { waitForDeliveries } from '../helpers/seed.ts';
import { waitUntil } from '../helpers/wait.ts';

/** `hibiki all` as its own process, as the README starts it, with a staff token to call it. */
export interface ServiceProcess {
  proc: HibikiProcess;
  baseUrl: string;
  token: string;
  /** Calls the service over HTTP with the staff token. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Posts a notice; resolves with the response (202, or the 503 of an outage). */
  post(overrides?: Record<string, unknown>): Promise<Response>;
  /** Still the process first started: never exited, never restarted. */
  alive(): boolean;
  /** How many times the process logged its start (1 unless something restarted it). */
  starts(): number;
  stop(): Promise<number | string>;
}

export async function startService(deps: TestDeps, env: Record<string, string> = {}): Promise<ServiceProcess> {
  const port = await freePort();
  const proc = startHibiki('all', { ...deps.env, PORT: String(port), HOST: '127.0.0.1', ...env });
  const baseUrl = `http://127.0.0.1:${port}`;
  const { token } = await deps.store.tokens.create('fault-test', 'approver');
  const request = (path: string, init: RequestInit = {}) =>
    fetch(`${baseUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) },
      signal: init.signal ?? AbortSignal.timeout(20_000),
    });
  await waitUntil(
    'hibiki all to answer /readyz',
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`hibiki exited:\n${proc.output()}`);
      return (await fetch(`${baseUrl}/readyz`).catch(() => undefined))?.status === 200;
    },
    30_000,
    100,
  );
  return {
    proc,
    baseUrl,
    token,
    request,
    post: (overrides = {}) =>
      request('/v1/notices', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(notice(overrides)),
      }),
    alive: () => proc.child.exitCode === null && proc.child.signalCode === null,
    starts: () =>
      proc
        .output()
        .split('\n')
        .filter((line) => line.includes('"hibiki starting"')).length,
    async stop() {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
      return proc.exited;
    },
  };
}

/** Waits until none of the notice's rows is still queued; a timeout shows the service's last output. */
export function serviceDelivered(
  service: ServiceProcess,
  deps: TestDeps,
  noticeId: string,
  rows: number,
  timeoutMs: number,
) {
  return waitForDeliveries(deps, noticeId, rows, timeoutMs).catch((err) => {
    throw new Error(`${err}\n${service.proc.output().slice(-4000)}`);
  });
}

/** The id of a notice the service accepted (202), or an error with its answer. */
export async function acceptedId(res: Response): Promise<string> {
  const body = (await res.json()) as { id?: string };
  if (res.status !== 202 || !body.id)
    throw new Error(`POST /v1/notices answered ${res.status}: ${JSON.stringify(body)}`);
  return body.id;
}
