import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SmtpSink, startSmtpSink } from '../test/fakes/smtp-sink.ts';
import { startHibiki } from '../test/helpers/process.ts';
import { cleanupPrefix, uniquePrefix } from '../test/helpers/redis.ts';
import { cpuSeconds, median, peakRssMiB, resetPeakRss, run, until } from './lib.ts';

const BARE_SCRIPT = fileURLToPath(new URL('./bare-nodemailer.ts', import.meta.url));

export interface MailThroughputResult {
  recipients: number;
  connections: number;
  nodeFlags: string[];
  rounds: Round[];
  baseline: { seconds: number; perSecond: number };
  hibiki: { seconds: number; perSecond: number; firstMailMs: number; workerPeakRssMiB: number };
  ratio: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const TITLE = '避難所の開設について';
const BODY = '本日18時から市民体育館を避難所として開設します。';

/**
 * Node flags of both processes: the same as `npm start` (package.json). A larger young
 * generation lets the short-lived objects of building each MIME message die young instead
 * of being promoted and collected later at greater cost.
 */
export const NODE_FLAGS = ['--max-semi-space-size=32'];

export interface Round {
  baselineSeconds: number;
  hibikiSeconds: number;
  firstMailMs: number;
  workerPeakRssMiB: number;
  /** CPU the Hibiki process used between the POST and the last mail. */
  workerCpuSeconds: number;
}

/**
 * The baseline runs in a process of its own, as Hibiki does, so both have the same cores
 * and the SMTP server (in this process) costs neither of them.
 */
async function bareNodemailer(sinkUrl: string, recipients: number, connections: number): Promise<number> {
  const { stdout } = await run(
    process.execPath,
    [...NODE_FLAGS, '--import', 'tsx', BARE_SCRIPT, sinkUrl, String(recipients), String(connections)],
    { env: process.env },
  );
  return Number(stdout.trim().split('\n').at(-1));
}

/** One notice to `recipients` residents through a fresh `hibiki all` with its own store and queue prefix. */
async function hibikiRound(sink: SmtpSink, recipients: number, connections: number) {
  const dir = mkdtempSync(join(tmpdir(), 'hibiki-bench-'));
  const prefix = uniquePrefix('hibiki-bench');
  const port = await freePort();
  const env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`,
    QUEUE_PREFIX: prefix,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    SMTP_URL: sink.url,
    MAIL_CONNECTIONS: String(connections),
    CHANNELS: 'mail,cap',
    LOG_LEVEL: 'warn',
    // BENCH_ENV='MAIL_BATCH=250 WORKER_CONCURRENCY=2' tries other settings of the service.
    ...Object.fromEntries(
      (process.env.BENCH_ENV ?? '')
        .split(' ')
        .filter(Boolean)
        .map((kv) => kv.split('=', 2)),
    ),
  };
  const made = await run(
    process.execPath,
    ['src/bin.mjs', 'token', 'create', '--role', 'approver', '--name', 'bench'],
    {
      env: { ...process.env, ...env },
    },
  );
  const token = made.stdout.trim().split('\n').at(-1) ?? '';
  // BENCH_PROFILE=<dir> writes a CPU profile of the service, to see where its time goes.
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const service = startHibiki('all', env, { nodeArgs: [...NODE_FLAGS, ...profile] });
  const pid = service.child.pid as number;
  const base = `http://127.0.0.1:${port}`;
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  try {
    await until('the API', async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok === true, 30_000, 100);
    const rows = Array.from({ length: recipients }, (_, i) => ({
      email: `r${i}@example.jp`,
      topics: ['disaster'],
      areas: [],
      locale: 'ja',
    }));
    const imported = await fetch(`${base}/v1/subscribers`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify(rows),
    });
    if (!imported.ok) throw new Error(`import failed: ${imported.status} ${await imported.text()}`);
    // The import is not part of the send: measure the peak from here on.
    resetPeakRss(pid);

    sink.reset();
    const cpuBefore = cpuSeconds(pid);
    const started = performance.now();
    const posted = await fetch(`${base}/v1/notices`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        title: TITLE,
        body: BODY,
        severity: 'info',
        category: '避難所情報',
        topics: ['disaster'],
      }),
    });
    if (posted.status !== 202) throw new Error(`POST /v1/notices: ${posted.status} ${await posted.text()}`);
    await until('the first mail', () => sink.count > 0, 60_000, 1);
    const firstMailMs = performance.now() - started;
    const trace: number[] = [];
    const tracer = setInterval(() => trace.push(sink.count), 500);
    await until(`${recipients} mails`, () => sink.count >= recipients, 600_000);
    clearInterval(tracer);
    if (process.env.BENCH_TRACE)
      console.log('  mails accepted every 500 ms:', trace.map((n, i) => n - (trace[i - 1] ?? 0)).join(' '));
    const seconds = (performance.now() - started) / 1000;
    return { seconds, firstMailMs, workerPeakRssMiB: peakRssMiB(pid), workerCpuSeconds: cpuSeconds(pid) - cpuBefore };
  } finally {
    service.child.kill('SIGTERM');
    await service.exited;
    await cleanupPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Issue 2's benchmark: a notice to `recipients` residents through `hibiki all` (API and
 * workers as npm start runs them, SQLite store, real Redis) into a local SMTP server,
 * against a bare nodemailer pool sending the same mails into the same server. Rounds
 * alternate baseline and Hibiki, so a noisy moment of the shared machine hits both;
 * the result is the medians.
 */
export async function mailThroughput(recipients = 10_000, connections = 8, rounds = 3): Promise<MailThroughputResult> {
  const sink = await startSmtpSink({ record: 'count' });
  const done: Round[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      sink.reset();
      const baselineSeconds = await bareNodemailer(sink.url, recipients, connections);
      if (sink.count !== recipients) throw new Error(`baseline delivered ${sink.count} of ${recipients}`);
      const h = await hibikiRound(sink, recipients, connections);
      done.push({
        baselineSeconds,
        hibikiSeconds: h.seconds,
        firstMailMs: h.firstMailMs,
        workerPeakRssMiB: h.workerPeakRssMiB,
        workerCpuSeconds: h.workerCpuSeconds,
      });
      console.log(
        `  round ${i + 1}: baseline ${round2(baselineSeconds)} s, hibiki ${round2(h.seconds)} s (ratio ${round2(baselineSeconds / h.seconds)}; hibiki used ${round2(h.workerCpuSeconds)} s of CPU)`,
      );
    }
  } finally {
    await sink.close();
  }
  const baselineSeconds = median(done.map((r) => r.baselineSeconds));
  const hibikiSeconds = median(done.map((r) => r.hibikiSeconds));
  return {
    recipients,
    connections,
    nodeFlags: NODE_FLAGS,
    rounds: done,
    baseline: { seconds: round2(baselineSeconds), perSecond: Math.round(recipients / baselineSeconds) },
    hibiki: {
      seconds: round2(hibikiSeconds),
      perSecond: Math.round(recipients / hibikiSeconds),
      firstMailMs: Math.round(median(done.map((r) => r.firstMailMs))),
      workerPeakRssMiB: Math.max(...done.map((r) => r.workerPeakRssMiB)),
    },
    ratio: round2(baselineSeconds / hibikiSeconds),
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;
