import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { loadMailTemplates, personaliseMail, renderMail } from '../channels/mail/render-mail.ts';
import { startSmtpSink } from '../test/fakes/smtp-sink.ts';
import { makeNoticeView } from '../test/helpers/notice-view.ts';
import { startHibiki } from '../test/helpers/process.ts';
import { cleanupPrefix, uniquePrefix } from '../test/helpers/redis.ts';
import { peakRssMiB, run, until } from './lib.ts';

export interface MailThroughputResult {
  recipients: number;
  connections: number;
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
 * A bare nodemailer pool sending the very mail Hibiki renders for the benchmark's notice
 * (same templates, same size, a personal unsubscribe link each): the ceiling Hibiki's
 * mail channel is held to.
 */
async function bareNodemailer(sinkUrl: string, recipients: number, connections: number): Promise<number> {
  const mail = renderMail(
    makeNoticeView({ title: TITLE, body: BODY, severity: 'info', category: '避難所情報', areas: [] }),
    'ja',
    loadMailTemplates(),
  );
  const transport = nodemailer.createTransport({
    url: sinkUrl,
    pool: true,
    maxConnections: connections,
    maxMessages: Number.POSITIVE_INFINITY,
  });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: recipients }, (_, i) => {
      const unsubscribe = `https://hibiki.example.jp/unsubscribe?c=${i}&t=0123456789abcdef0123456789abcdef`;
      const personal = personaliseMail(mail, unsubscribe);
      return transport.sendMail({
        from: '"菊池市 防災・お知らせ" <noreply@example.jp>',
        to: `r${i}@example.jp`,
        subject: personal.subject,
        text: personal.text,
        html: personal.html,
        list: { unsubscribe: [[unsubscribe, 'unsubscribe@example.jp']] },
        headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
      });
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  transport.close();
  return seconds;
}

/**
 * Issue 2's benchmark: a 10,000-recipient notice through `hibiki all` (API + workers, as
 * npm start runs it, SQLite store, real Redis) into a local SMTP server, against a bare
 * nodemailer pool into the same server in the same run.
 */
export async function mailThroughput(recipients = 10_000, connections = 8): Promise<MailThroughputResult> {
  const sink = await startSmtpSink({ record: 'count' });
  const baselineSeconds = await bareNodemailer(sink.url, recipients, connections);
  sink.reset();

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
  const service = startHibiki('all', env, profile);
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
    await until(`${recipients} mails`, () => sink.count >= recipients, 600_000);
    const seconds = (performance.now() - started) / 1000;
    const workerPeakRssMiB = peakRssMiB(service.child.pid as number);
    const result: MailThroughputResult = {
      recipients,
      connections,
      baseline: { seconds: round(baselineSeconds), perSecond: Math.round(recipients / baselineSeconds) },
      hibiki: {
        seconds: round(seconds),
        perSecond: Math.round(recipients / seconds),
        firstMailMs: Math.round(firstMailMs),
        workerPeakRssMiB,
      },
      ratio: round(baselineSeconds / seconds),
    };
    return result;
  } finally {
    service.child.kill('SIGTERM');
    await service.exited;
    await sink.close();
    await cleanupPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
