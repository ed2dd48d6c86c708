import { FAN_OUT_CHANNELS, type FanOut, type PerChannel, startFanOut } from '../test/faults/fan-out-fixture.ts';
import type { StoreKind } from '../test/helpers/db.ts';
import { type HibikiProcess, startHibiki } from '../test/helpers/process.ts';
import { freePort } from '../test/helpers/redis-server.ts';
import { cpuSeconds, peakRssMiB, resetPeakRss, rssMiB, until } from './lib.ts';

/**
 * Node flags of every Hibiki process a benchmark starts: the same as `npm start`
 * (package.json), so the figures are those of the service as it is run.
 */
export const NODE_FLAGS = ['--max-semi-space-size=32'];

/** The level a deployment logs at (the README's default); BENCH_LOG_LEVEL=debug shows every batch. */
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';

export interface CityOptions {
  store: StoreKind;
  /** Residents per channel, each with one contact on that channel. */
  size: PerChannel<number>;
  /** Settings of the service beyond the fakes' (WORKER_CONCURRENCY, MAIL_BATCH…). */
  env?: Record<string, string>;
  /** BENCH_PROFILE=<dir>: CPU profiles of the processes, to see where their time goes. */
  profileDir?: string;
}

/** Recipients each fake has accepted so far, per channel. */
export type Counts = PerChannel<number>;

/** One notice's run: cumulative recipients accepted over time, and the moments that matter. */
export interface NoticeRun {
  noticeId: string;
  /** [ms since the POST, accepted per channel] every SAMPLE_MS. */
  trace: [number, Counts][];
  /** ms from the POST until a channel's first and last recipient was accepted. */
  firstMs: Partial<PerChannel<number>>;
  lastMs: Partial<PerChannel<number>>;
  /** ms from the POST until every channel's last recipient was accepted. */
  allMs: number;
  /** ms the POST itself took (202 answered). */
  acceptedMs: number;
  peakRssMiB: { api: number; worker: number };
  /** Resident memory of each process at the POST, before any of the notice's work: the peak less this is what the send cost. */
  restingRssMiB: { api: number; worker: number };
  /** CPU seconds each process used from the POST to the last delivery: steadier than wall time on a busy machine. */
  cpuSeconds: { api: number; worker: number };
}

export interface City {
  fanOut: FanOut;
  api: HibikiProcess;
  worker: HibikiProcess;
  baseUrl: string;
  /** Recipients each fake has accepted so far. */
  counts(): Counts;
  /** Posts a notice and follows it until every fake has accepted `expect` more recipients. */
  send(notice: Record<string, unknown>, expect: Partial<Counts>, timeoutMs?: number): Promise<NoticeRun>;
  /** Calls the API with a staff token. */
  request(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

const SAMPLE_MS = 50;

const round2 = (x: number) => Math.round(x * 100) / 100;

/** The README's defaults for what test/helpers/deps.ts shortens for tests. */
const PRODUCTION_DEFAULTS = { RETRY_BASE_MS: '2000', RETRY_MAX_MS: '600000', STALLED_INTERVAL_MS: '30000' };

/**
 * A city as the benchmarks need it: the three local providers (SMTP server, LINE fake,
 * Web Push service), a store seeded with its residents, and Hibiki as the README runs it
 * on more than one process: `hibiki serve` and `hibiki worker`, so the peak memory of
 * each is its own.
 */
export async function startCity(options: CityOptions): Promise<City> {
  // A deployment's defaults, not the test suite's fast retries and short locks.
  const settings = { ...PRODUCTION_DEFAULTS, ...options.env };
  const fanOut = await startFanOut({ store: options.store, size: options.size, env: settings });
  try {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const profile = (name: string) =>
      options.profileDir
        ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${name}.cpuprofile`]
        : [];
    const env = { ...fanOut.deps.env, PORT: String(port), HOST: '127.0.0.1' };
    const api = startHibiki('serve', env, { nodeArgs: [...NODE_FLAGS, ...profile('api')], logLevel: LOG_LEVEL });
    const worker = startHibiki('worker', env, {
      nodeArgs: [...NODE_FLAGS, ...profile('worker')],
      logLevel: LOG_LEVEL,
    });
    fanOut.processes.push(api, worker);
    const { token } = await fanOut.deps.store.tokens.create('bench', 'approver');
    const request = (path: string, init: RequestInit = {}) =>
      fetch(`${baseUrl}${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(init.headers as Record<string, string> | undefined),
        },
      });
    await until(
      'hibiki serve to answer /readyz',
      async () => {
        if (api.child.exitCode !== null) throw new Error(`hibiki serve exited:\n${api.output()}`);
        if (worker.child.exitCode !== null) throw new Error(`hibiki worker exited:\n${worker.output()}`);
        return (await fetch(`${baseUrl}/readyz`).catch(() => undefined))?.status === 200;
      },
      30_000,
      100,
    );

    const counts = (): Counts => ({
      mail: fanOut.sink.count,
      line: fanOut.line.delivered,
      webpush: fanOut.push.requests.length,
    });

    return {
      fanOut,
      api,
      worker,
      baseUrl,
      counts,
      request,
      async send(notice, expect, timeoutMs = 600_000) {
        const channels = FAN_OUT_CHANNELS.filter((c) => (expect[c] ?? 0) > 0);
        const from = counts();
        const target = Object.fromEntries(channels.map((c) => [c, from[c] + (expect[c] ?? 0)])) as Counts;
        for (const p of [api, worker]) resetPeakRss(p.child.pid as number);
        const restingRssMiB = { api: rssMiB(api.child.pid as number), worker: rssMiB(worker.child.pid as number) };
        const cpuBefore = { api: cpuSeconds(api.child.pid as number), worker: cpuSeconds(worker.child.pid as number) };
        const trace: [number, Counts][] = [];
        const firstMs: Partial<PerChannel<number>> = {};
        const lastMs: Partial<PerChannel<number>> = {};
        const started = performance.now();
        const look = () => {
          const at = performance.now() - started;
          const now = counts();
          const got = Object.fromEntries(FAN_OUT_CHANNELS.map((c) => [c, now[c] - from[c]])) as Counts;
          trace.push([Math.round(at), got]);
          for (const c of channels) {
            if (firstMs[c] === undefined && got[c] > 0) firstMs[c] = at;
            if (lastMs[c] === undefined && now[c] >= target[c]) lastMs[c] = at;
          }
        };
        // Sampled on a timer and also polled tightly below, so first and last are exact to a few ms.
        const sampler = setInterval(look, SAMPLE_MS);
        try {
          const posted = await request('/v1/notices', { method: 'POST', body: JSON.stringify(notice) });
          const acceptedMs = performance.now() - started;
          const body = (await posted.json()) as { id?: string };
          if (posted.status !== 202 || !body.id)
            throw new Error(`POST /v1/notices answered ${posted.status}: ${JSON.stringify(body)}`);
          await until(
            `every recipient of notice ${body.id} (${JSON.stringify(expect)})`,
            () => {
              look();
              if (worker.child.exitCode !== null) throw new Error(`hibiki worker exited:\n${worker.output()}`);
              return channels.every((c) => lastMs[c] !== undefined);
            },
            timeoutMs,
            2,
          );
          const allMs = Math.max(...channels.map((c) => lastMs[c] ?? 0));
          return {
            noticeId: body.id,
            trace,
            firstMs,
            lastMs,
            allMs,
            acceptedMs,
            cpuSeconds: {
              api: round2(cpuSeconds(api.child.pid as number) - cpuBefore.api),
              worker: round2(cpuSeconds(worker.child.pid as number) - cpuBefore.worker),
            },
            restingRssMiB,
            peakRssMiB: {
              api: peakRssMiB(api.child.pid as number),
              worker: peakRssMiB(worker.child.pid as number),
            },
          };
        } finally {
          clearInterval(sampler);
        }
      },
      async close() {
        // SIGTERM first, so a CPU profile is written; close() kills what is left.
        for (const p of [api, worker]) if (p.child.exitCode === null) p.child.kill('SIGTERM');
        await Promise.race([Promise.all([api.exited, worker.exited]), new Promise((r) => setTimeout(r, 30_000))]);
        await fanOut.close();
      },
    };
  } catch (err) {
    await fanOut.close();
    throw err;
  }
}
