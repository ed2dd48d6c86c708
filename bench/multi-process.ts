import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import type { ChannelId } from '../src/domain/notice.ts';
import { deliverQueueName } from '../src/queue/names.ts';
import {
  FAN_OUT_CHANNELS,
  type FanOut,
  type FanOutChannel,
  formatTable,
  type PerChannel,
  startFanOut,
} from '../test/faults/fan-out-fixture.ts';
import { notice } from '../test/helpers/api.ts';
import { type HibikiProcess, startHibiki } from '../test/helpers/process.ts';
import { freePort } from '../test/helpers/redis-server.ts';
import { tally } from '../test/helpers/seed.ts';
import { LOG_DIR_VARIABLE } from '../test/log-scan/log-dir.ts';
import { cpuSeconds, median, peakRssMiB, until } from './lib.ts';

/**
 * Issue 7, "more than one machine": the same notices through one `hibiki all` (the
 * reference) and through 2 `hibiki serve` + 3 `hibiki worker` processes sharing nothing
 * but one Redis and one PostgreSQL, counting what every resident received. Two worker
 * layouts: `shared`, where all three workers take every queue (competing for each batch,
 * the case that could send twice), and `per-channel`, where WORKER_QUEUES gives each
 * channel's queue its own worker. A round-robin over the API processes stands in for the
 * load balancer. Each layout gets a fresh store, queue prefix and fakes; the layouts
 * alternate within a round, so a noisy moment of the shared machine hits them alike.
 */

export type MultiProcessProfile = 'quick' | 'full';
export type LayoutName = 'reference' | 'shared' | 'per-channel';

interface Layout {
  description: string;
  /** `hibiki serve` processes (0: the `all` process answers the API). */
  api: number;
  /** One entry per `hibiki worker` process: its WORKER_QUEUES, or undefined for every queue. */
  workers: Array<string | undefined>;
  /** A single `hibiki all` process. */
  all: boolean;
}

const LAYOUTS: Record<LayoutName, Layout> = {
  reference: { description: '1 × hibiki all', api: 0, workers: [], all: true },
  shared: {
    description: '2 × hibiki serve + 3 × hibiki worker, each taking every queue',
    api: 2,
    workers: [undefined, undefined, undefined],
    all: false,
  },
  'per-channel': {
    description: '2 × hibiki serve + 3 × hibiki worker: WORKER_QUEUES=dispatch,mail | line | webpush',
    api: 2,
    workers: ['dispatch,mail', 'line', 'webpush'],
    all: false,
  },
};
const ORDER: LayoutName[] = ['reference', 'shared', 'per-channel'];

const PROFILES: Record<MultiProcessProfile, { size: PerChannel<number>; notices: number; rounds: number }> = {
  // ~5,000 residents, each sent 2 notices: 10,000 deliveries per layout.
  quick: { size: { mail: 2_000, line: 2_000, webpush: 1_000 }, notices: 2, rounds: 1 },
  // ~30,000 residents, 2 notices: 60,000 deliveries per layout, two rounds.
  full: { size: { mail: 12_000, line: 12_000, webpush: 6_000 }, notices: 2, rounds: 2 },
};

export interface ChannelOutcome {
  /** Deliveries owed: residents on the channel × notices. */
  expected: number;
  /** Messages the provider (a local fake) accepted. */
  received: number;
  /** Extra copies: Σ over residents of (times received − notices), where positive. */
  duplicated: number;
  /** Deliveries owed that the provider never got or whose row is not sent. */
  lost: number;
  /** Delivery rows in status sent. */
  sentRows: number;
  /** From the first POST until the provider had every delivery owed (undefined: never). */
  lastDeliveryMs: number | undefined;
}

export interface LayoutRun {
  layout: LayoutName;
  description: string;
  channels: PerChannel<ChannelOutcome>;
  /** From the first POST until every channel had all it was owed (undefined: never). */
  lastDeliveryMs: number | undefined;
  /** From the first POST until no row of the notices was still queued. */
  settledMs: number;
  sentRows: number;
  duplicated: number;
  lost: number;
  /** Notices posted to each API process in turn (the stand-in load balancer). */
  postedPerApi: number[];
  /** Worker processes listening on each queue when the notices were posted (BullMQ's own count). */
  workersPerQueue: Record<string, number>;
  /** CPU seconds each process used from the first POST to the end: how the work spread. */
  cpuSeconds: Record<string, number>;
  /** Peak resident memory of each process over its whole life (MiB). */
  peakRssMiB: Record<string, number>;
}

export interface MultiProcessResult {
  profile: MultiProcessProfile;
  store: 'postgres';
  residents: PerChannel<number>;
  notices: number;
  rounds: Array<Record<LayoutName, LayoutRun>>;
  /** Medians over the rounds, with the reference's time as the baseline of the ratio. */
  summary: Record<
    LayoutName,
    { description: string; lastDeliveryMs: number | undefined; ratioToReference: number | undefined }
  >;
  /** Every layout's per-channel expected, received, sent rows, lost and duplicated equal the reference's. */
  sameAsReference: boolean;
  /** Across every run of every layout. */
  duplicated: number;
  lost: number;
}

const READY_TIMEOUT_MS = 60_000;
/** After the last row settles, how long late copies (a job run twice) are waited for. */
const SETTLE_GRACE_MS = 2_000;

/** A resident as the fakes count them: address, LINE user id, or the push subscription id (the endpoint's last segment). */
const keyOf = (channel: FanOutChannel, address: string) =>
  channel === 'webpush' ? address.slice(address.lastIndexOf('/') + 1) : address;

interface Api {
  baseUrl: string;
  proc: HibikiProcess;
}

function alive(p: HibikiProcess): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

async function stopAll(processes: HibikiProcess[]): Promise<void> {
  for (const p of processes) if (alive(p)) p.child.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const p of processes) if (alive(p)) p.child.kill('SIGKILL');
  }, 30_000);
  await Promise.all(processes.map((p) => p.exited));
  clearTimeout(deadline);
}

/** Starts a layout's processes over the fan-out's store and queue prefix, and waits for every one to be ready. */
async function startLayout(f: FanOut, layout: Layout) {
  const processes: { name: string; proc: HibikiProcess }[] = [];
  const apis: Api[] = [];
  const base = { ...f.deps.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  const startApi = async (command: 'serve' | 'all', name: string) => {
    const port = await freePort();
    const proc = startHibiki(command, { ...base, PORT: String(port) });
    processes.push({ name, proc });
    apis.push({ baseUrl: `http://127.0.0.1:${port}`, proc });
  };
  if (layout.all) await startApi('all', 'all');
  for (let i = 0; i < layout.api; i++) await startApi('serve', `api-${i + 1}`);
  layout.workers.forEach((queues, i) => {
    const proc = startHibiki('worker', { ...base, ...(queues ? { WORKER_QUEUES: queues } : {}) });
    processes.push({ name: `worker-${i + 1}${queues ? ` (${queues})` : ''}`, proc });
  });

  const failed = () => processes.find((p) => !alive(p.proc));
  for (const api of apis) {
    await until(
      `${api.baseUrl}/readyz`,
      async () => {
        const gone = failed();
        if (gone) throw new Error(`${gone.name} exited:\n${gone.proc.output().slice(-2000)}`);
        return (await fetch(`${api.baseUrl}/readyz`).catch(() => undefined))?.status === 200;
      },
      READY_TIMEOUT_MS,
      100,
    );
  }
  // Ready means BullMQ sees each worker on its queues: what each queue should have, by the layout.
  const workerProcs = layout.all ? [undefined] : layout.workers;
  const owed: Record<string, number> = {};
  for (const queue of ['dispatch', ...FAN_OUT_CHANNELS]) {
    const name = queue === 'dispatch' ? 'dispatch' : deliverQueueName(queue as ChannelId);
    owed[name] = workerProcs.filter((q) => q === undefined || q.split(',').includes(queue)).length;
  }
  const workersPerQueue: Record<string, number> = {};
  await until(
    'every worker process to listen on its queues',
    async () => {
      const gone = failed();
      if (gone) throw new Error(`${gone.name} exited:\n${gone.proc.output().slice(-2000)}`);
      for (const name of Object.keys(owed)) {
        const queue = name === 'dispatch' ? f.deps.queues.dispatch : f.deps.queues.deliver(name.slice(8) as ChannelId);
        workersPerQueue[name] = await queue.getWorkersCount();
      }
      return Object.entries(owed).every(([name, n]) => workersPerQueue[name] === n);
    },
    READY_TIMEOUT_MS,
    200,
  );
  return { processes, apis, workersPerQueue };
}

/** Residents per channel as the fakes key them, and per resident how many of the notices' rows are sent. */
async function recipients(f: FanOut, noticeIds: string[]) {
  const k = f.deps.store.db.kysely;
  const contacts = await k.selectFrom('contacts').select(['channel', 'address']).execute();
  const expected = { mail: [], line: [], webpush: [] } as PerChannel<string[]>;
  for (const c of contacts) {
    const channel = c.channel as FanOutChannel;
    if (channel in expected) expected[channel].push(keyOf(channel, c.address));
  }
  const sent = await k
    .selectFrom('deliveries as d')
    .innerJoin('contacts as c', 'c.id', 'd.contact_id')
    .select(['d.channel', 'c.address', sql<number>`count(*)`.as('n')])
    .where('d.notice_id', 'in', noticeIds)
    .where('d.status', '=', 'sent')
    .groupBy(['d.channel', 'c.address'])
    .execute();
  const sentTimes = { mail: new Map(), line: new Map(), webpush: new Map() } as PerChannel<Map<string, number>>;
  for (const r of sent) {
    const channel = r.channel as FanOutChannel;
    sentTimes[channel]?.set(keyOf(channel, r.address), Number(r.n));
  }
  return { expected, sentTimes };
}

/** One layout, start to finish, on a fresh store and queue prefix: posts the notices and counts what arrived. */
async function runLayout(
  name: LayoutName,
  size: PerChannel<number>,
  notices: number,
  timeoutMs: number,
): Promise<LayoutRun> {
  const layout = LAYOUTS[name];
  console.log(`  ${name}: ${layout.description}; seeding ${JSON.stringify(size)} on PostgreSQL…`);
  // Production's stall interval, not the tests' 1 s: a busy 2-core machine must not make
  // a live worker's lock run out, which would measure the test setting, not the layout.
  const f = await startFanOut({ store: 'postgres', size, env: { STALLED_INTERVAL_MS: '30000' } });
  let started: Awaited<ReturnType<typeof startLayout>> | undefined;
  try {
    started = await startLayout(f, layout);
    const { processes, apis, workersPerQueue } = started;
    const { token } = await f.deps.store.tokens.create('bench-multi-process', 'approver');
    const cpuBefore = new Map(processes.map((p) => [p.name, cpuSeconds(p.proc.child.pid as number)]));
    const postedPerApi = apis.map(() => 0);

    const t0 = performance.now();
    const ids = await Promise.all(
      Array.from({ length: notices }, async (_, i) => {
        const api = apis[i % apis.length] as Api;
        postedPerApi[i % apis.length] = (postedPerApi[i % apis.length] ?? 0) + 1;
        const res = await fetch(`${api.baseUrl}/v1/notices`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(
            notice({ title: `避難所の開設について（第${i + 1}報）`, channels: [...FAN_OUT_CHANNELS] }),
          ),
          signal: AbortSignal.timeout(20_000),
        });
        const body = (await res.json()) as { id?: string };
        if (res.status !== 202 || !body.id) throw new Error(`POST /v1/notices: ${res.status} ${JSON.stringify(body)}`);
        return body.id;
      }),
    );

    const owed = (c: FanOutChannel) => size[c] * notices;
    const lastByChannel: Partial<Record<FanOutChannel, number>> = {};
    const totalRows = (size.mail + size.line + size.webpush) * notices;
    const queuedRows = async () => {
      let queued = 0;
      let done = 0;
      for (const id of ids) {
        const t = tally(await f.deps.store.deliveries.counts(id));
        queued += t.queued;
        done += t.sent + t.failed + t.skipped;
      }
      return done >= totalRows ? queued : queued + (totalRows - done);
    };
    let settledAt: number | undefined;
    const deadline = Date.now() + timeoutMs;
    let lastPrint = 0;
    for (;;) {
      const got = f.received();
      const now = performance.now() - t0;
      for (const c of FAN_OUT_CHANNELS) {
        const n = [...got[c].values()].reduce((a, b) => a + b, 0);
        if (lastByChannel[c] === undefined && n >= owed(c)) lastByChannel[c] = now;
      }
      if (settledAt === undefined && (await queuedRows()) === 0) settledAt = performance.now() - t0;
      const allArrived = FAN_OUT_CHANNELS.every((c) => lastByChannel[c] !== undefined);
      if (settledAt !== undefined && (allArrived || performance.now() - t0 - settledAt > 5_000)) break;
      if (Date.now() > deadline) {
        console.log(`  ${name}: gave up after ${timeoutMs} ms with rows still queued`);
        break;
      }
      const gone = processes.find((p) => !alive(p.proc));
      if (gone) throw new Error(`${gone.name} exited mid-run:\n${gone.proc.output().slice(-2000)}`);
      if (now - lastPrint > 10_000) {
        lastPrint = now;
        const counts = FAN_OUT_CHANNELS.map(
          (c) => `${c} ${[...got[c].values()].reduce((a, b) => a + b, 0)}/${owed(c)}`,
        );
        console.log(`    ${Math.round(now / 1000)} s: ${counts.join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // A batch run twice would show as copies arriving after the rows settled.
    await new Promise((r) => setTimeout(r, SETTLE_GRACE_MS));
    const cpu: Record<string, number> = {};
    const rss: Record<string, number> = {};
    for (const p of processes) {
      cpu[p.name] = round2(cpuSeconds(p.proc.child.pid as number) - (cpuBefore.get(p.name) ?? 0));
      rss[p.name] = peakRssMiB(p.proc.child.pid as number);
    }

    const got = f.received();
    const { expected, sentTimes } = await recipients(f, ids);
    const counts = (await Promise.all(ids.map((id) => f.deps.store.deliveries.counts(id)))).flat();
    const channels = {} as PerChannel<ChannelOutcome>;
    for (const c of FAN_OUT_CHANNELS) {
      const times = got[c];
      let duplicated = 0;
      let lost = 0;
      for (const key of expected[c]) {
        const n = times.get(key) ?? 0;
        duplicated += Math.max(0, n - notices);
        // Owed once per notice: short if the provider got fewer, or fewer of its rows are sent.
        lost += Math.max(0, notices - Math.min(n, sentTimes[c].get(key) ?? 0));
      }
      // Anything sent to someone who is not a resident of this store would be a copy too.
      const known = new Set(expected[c]);
      for (const [key, n] of times) if (!known.has(key)) duplicated += n;
      channels[c] = {
        expected: owed(c),
        received: [...times.values()].reduce((a, b) => a + b, 0),
        duplicated,
        lost,
        sentRows: tally(counts, c).sent,
        lastDeliveryMs: round0(lastByChannel[c]),
      };
    }
    const run: LayoutRun = {
      layout: name,
      description: layout.description,
      channels,
      lastDeliveryMs: FAN_OUT_CHANNELS.every((c) => lastByChannel[c] !== undefined)
        ? round0(Math.max(...FAN_OUT_CHANNELS.map((c) => lastByChannel[c] as number)))
        : undefined,
      settledMs: round0(settledAt ?? performance.now() - t0) as number,
      sentRows: tally(counts).sent,
      duplicated: FAN_OUT_CHANNELS.reduce((s, c) => s + channels[c].duplicated, 0),
      lost: FAN_OUT_CHANNELS.reduce((s, c) => s + channels[c].lost, 0),
      postedPerApi,
      workersPerQueue,
      cpuSeconds: cpu,
      peakRssMiB: rss,
    };
    printRun(run);
    return run;
  } finally {
    if (started) await stopAll(started.processes.map((p) => p.proc));
    await f.close();
  }
}

function printRun(run: LayoutRun): void {
  const rows = [['channel', 'expected', 'received', 'duplicated', 'lost', 'sent rows', 'last delivery']];
  for (const c of FAN_OUT_CHANNELS) {
    const o = run.channels[c];
    rows.push([
      c,
      String(o.expected),
      String(o.received),
      String(o.duplicated),
      String(o.lost),
      String(o.sentRows),
      o.lastDeliveryMs === undefined ? 'never' : `${(o.lastDeliveryMs / 1000).toFixed(2)} s`,
    ]);
  }
  for (const line of formatTable(rows)) console.log(`    ${line}`);
  console.log(
    `    all delivered in ${run.lastDeliveryMs === undefined ? 'never' : `${(run.lastDeliveryMs / 1000).toFixed(2)} s`}; ` +
      `rows settled in ${(run.settledMs / 1000).toFixed(2)} s; notices per API ${run.postedPerApi.join('/')}; ` +
      `workers per queue ${Object.entries(run.workersPerQueue)
        .map(([q, n]) => `${q} ${n}`)
        .join(', ')}`,
  );
  console.log(
    `    per process, CPU s / peak RSS MiB: ${Object.entries(run.cpuSeconds)
      .map(([p, s]) => `${p} ${s} / ${run.peakRssMiB[p]}`)
      .join(', ')}`,
  );
}

/** What is compared with the reference: everything but the times. */
const outcomeOf = (run: LayoutRun) =>
  FAN_OUT_CHANNELS.map((c) => {
    const { lastDeliveryMs: _, ...rest } = run.channels[c];
    return rest;
  });

export async function multiProcess(opts: { profile: MultiProcessProfile }): Promise<MultiProcessResult> {
  const { size, notices, rounds: roundCount } = PROFILES[opts.profile];
  const timeoutMs = opts.profile === 'quick' ? 5 * 60_000 : 15 * 60_000;
  // The children's log lines go to a directory of this run's own: a test suite started
  // meanwhile empties test-artifacts/logs/, which would end the bench mid-run.
  const ownLogs = process.env[LOG_DIR_VARIABLE] ? undefined : mkdtempSync(join(tmpdir(), 'hibiki-bench-logs-'));
  if (ownLogs) process.env[LOG_DIR_VARIABLE] = ownLogs;
  const rounds: Array<Record<LayoutName, LayoutRun>> = [];
  try {
    for (let r = 0; r < roundCount; r++) {
      console.log(`multi-process round ${r + 1} of ${roundCount} (${notices} notices to every resident):`);
      // Each round starts with a different layout, so none always runs first on a cold machine.
      const order = ORDER.map((_, i) => ORDER[(i + r) % ORDER.length] as LayoutName);
      const round = {} as Record<LayoutName, LayoutRun>;
      for (const name of order) round[name] = await runLayout(name, size, notices, timeoutMs);
      rounds.push(round);
    }
  } finally {
    if (ownLogs) {
      delete process.env[LOG_DIR_VARIABLE];
      rmSync(ownLogs, { recursive: true, force: true });
    }
  }

  const reference = median(rounds.map((r) => r.reference.lastDeliveryMs ?? Number.NaN));
  const summary = {} as MultiProcessResult['summary'];
  for (const name of ORDER) {
    const times = rounds.map((r) => r[name].lastDeliveryMs);
    const ms = times.every((t) => t !== undefined) ? median(times as number[]) : undefined;
    summary[name] = {
      description: LAYOUTS[name].description,
      lastDeliveryMs: round0(ms),
      ratioToReference: ms !== undefined && Number.isFinite(reference) ? round2(ms / reference) : undefined,
    };
  }
  const all = rounds.flatMap((r) => ORDER.map((name) => r[name]));
  const sameAsReference = rounds.every((r) =>
    ORDER.every((name) => JSON.stringify(outcomeOf(r[name])) === JSON.stringify(outcomeOf(r.reference))),
  );
  const result: MultiProcessResult = {
    profile: opts.profile,
    store: 'postgres',
    residents: size,
    notices,
    rounds,
    summary,
    sameAsReference,
    duplicated: all.reduce((s, run) => s + run.duplicated, 0),
    lost: all.reduce((s, run) => s + run.lost, 0),
  };
  console.log(
    [
      `multi-process summary (${opts.profile}; medians of ${roundCount} round${roundCount > 1 ? 's' : ''}):`,
      ...ORDER.map(
        (name) =>
          `  ${name.padEnd(11)} ${summary[name].lastDeliveryMs === undefined ? 'never' : `${((summary[name].lastDeliveryMs as number) / 1000).toFixed(2)} s`}` +
          `  (× ${summary[name].ratioToReference ?? '-'} of the reference)  ${summary[name].description}`,
      ),
      `  same results as the reference: ${sameAsReference ? 'yes' : 'NO'}; duplicated ${result.duplicated}, lost ${result.lost}`,
    ].join('\n'),
  );
  return result;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const round0 = (x: number | undefined) => (x === undefined ? undefined : Math.round(x));

// `node --import tsx bench/multi-process.ts [quick|full]`: on its own, printing the result as JSON.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const profile = process.argv[2] === 'full' ? 'full' : 'quick';
  const result = await multiProcess({ profile });
  console.log(JSON.stringify(result, null, 2));
}
