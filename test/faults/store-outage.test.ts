import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { RECORD_EVERY } from '../../workers/result-recorder.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { seedContacts } from '../helpers/bulk-seed.ts';
import { PG_URL, type StoreKind } from '../helpers/db.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { residentEmails, tally } from '../helpers/seed.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { waitUntil } from '../helpers/wait.ts';
import { countMailRecipients, formatTable, type MailFigures, reportFaultFigures } from './fan-out-fixture.ts';
import { acceptedId, type ServiceProcess, serviceDelivered, startService } from './service-process.ts';

/** How long the store is away: a database restart or failover. */
const OUTAGE_MS = 10_000;
const RECIPIENTS = 2_000;
const MAIL_BATCH = 100;
const CONCURRENCY = 4;
const CONNECTIONS = 4;

/** The figures a scenario reports and checks. */
interface Counted extends MailFigures {
  failed: number;
}

/** How each store goes away: PostgreSQL behind a proxy that is cut, SQLite locked by another connection. */
interface Outage {
  what: string;
  /** The DATABASE_URL the service is given. */
  serviceEnv: Record<string, string>;
  begin(): void;
  end(): void;
  close(): Promise<void>;
}

async function pgOutage(): Promise<Outage> {
  const url = new URL(PG_URL);
  const proxy: TcpProxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  const viaProxy = new URL(PG_URL);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  return {
    what: `TCP proxy to PostgreSQL cut for ${OUTAGE_MS / 1000} s (open connections reset, new ones refused)`,
    serviceEnv: { DATABASE_URL: viaProxy.toString() },
    begin: () => proxy.cut(),
    end: () => proxy.restore(),
    close: () => proxy.close(),
  };
}

function sqliteOutage(deps: TestDeps): Outage {
  const path = deps.env.DATABASE_URL?.slice('sqlite:'.length) ?? '';
  let holder: SQLite.Database | undefined;
  return {
    what: `SQLite write lock held by another connection (BEGIN EXCLUSIVE) for ${OUTAGE_MS / 1000} s`,
    serviceEnv: {},
    begin() {
      holder = new SQLite(path);
      holder.exec('BEGIN EXCLUSIVE');
    },
    end() {
      holder?.exec('ROLLBACK');
      holder?.close();
      holder = undefined;
    },
    async close() {
      holder?.close();
    },
  };
}

/** A 503 that says, in both languages, that the store is unavailable and when to try again. */
async function expectStoreUnavailable(res: Response, what: string) {
  expect(res.status, `${what} answered ${res.status}: ${await res.clone().text()}`).toBe(503);
  expect(Number(res.headers.get('retry-after')), `${what}: Retry-After`).toBeGreaterThan(0);
  if ((res.headers.get('content-type') ?? '').includes('text/html')) {
    const html = await res.text();
    expect(html).toContain('lang="ja"');
    expect(html).toContain('データベース');
    expect(html).toContain('database');
    return;
  }
  const body = (await res.json()) as { error: { code: string; message: string; message_en: string } };
  expect(body.error.code).toBe('store_unavailable');
  expect(body.error.message).toContain('データベース');
  expect(body.error.message_en).toContain('database');
}

const SCENARIOS: { store: StoreKind; scenario: string }[] = [
  { store: 'postgres', scenario: 'store-outage-postgres' },
  { store: 'sqlite', scenario: 'store-outage-sqlite' },
];

/**
 * The store goes away for OUTAGE_MS in the middle of a fan-out: the API says 503 with
 * Retry-After (never 500), /readyz says not ready, the workers pause and take up again,
 * no delivery is failed for it and every resident gets the notice.
 */
describe.each(SCENARIOS)('the store ($store) goes away for a while', ({ store, scenario }) => {
  let deps: TestDeps | undefined;
  let sink: SmtpSink | undefined;
  let service: ServiceProcess | undefined;
  let outage: Outage | undefined;

  afterEach(async () => {
    outage?.end();
    await service?.stop();
    await outage?.close();
    await deps?.dispose();
    await sink?.close();
  });

  it('answers 503 while it is away, pauses the workers, and loses no recipient', async () => {
    const smtp = await startSmtpSink({ record: 'count' });
    sink = smtp;
    deps = await createTestDeps({
      store,
      env: {
        CHANNELS: 'mail',
        SMTP_URL: smtp.url,
        MAIL_BATCH: String(MAIL_BATCH),
        MAIL_CONNECTIONS: String(CONNECTIONS),
        WORKER_CONCURRENCY: String(CONCURRENCY),
      },
    });
    const d = deps;
    const emails = residentEmails(RECIPIENTS, 'outage.example.jp');
    await seedContacts(
      d,
      'mail',
      emails.map((address) => ({ address })),
    );
    outage = store === 'postgres' ? await pgOutage() : sqliteOutage(d);
    service = await startService(d, { LOG_LEVEL: 'info', ...outage.serviceEnv });
    const s = service;

    smtp.setDelay(10);
    const id = await acceptedId(await s.post({ channels: ['mail'] }));
    // Use the token now, so a read during the outage does not need to note its use (a write).
    expect((await s.request('/v1/notices')).status).toBe(200);
    await smtp.waitFor(Math.round(RECIPIENTS / 4), 30_000);

    outage.begin();
    const startedAt = Date.now();
    const atStart = smtp.count;
    // Let the pool find its connections dead.
    await new Promise((r) => setTimeout(r, 1_000));

    const ready = await s.request('/readyz');
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { store: string } }).checks.store).not.toBe('ok');
    await expectStoreUnavailable(await s.post({ channels: ['mail'], title: '停電のお知らせ' }), 'POST /v1/notices');
    const list = await s.request('/v1/notices');
    const page = await fetch(`${s.baseUrl}/notices`, { headers: { accept: 'text/html' } });
    if (store === 'postgres') {
      await expectStoreUnavailable(list, 'GET /v1/notices');
      await expectStoreUnavailable(page, 'GET /notices');
    } else {
      // WAL keeps readers going while another connection holds the write lock: reading needs no lock.
      expect(list.status).toBe(200);
      expect(page.status).toBe(200);
    }

    const left = OUTAGE_MS - (Date.now() - startedAt);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    const duringOutage = smtp.count - atStart;
    const queuedAtEnd = tally(await d.store.deliveries.counts(id)).queued;
    outage.end();
    const endedAt = Date.now();
    const atEnd = smtp.count;
    const resumed = waitUntil('sending to resume', () => smtp.count > atEnd && Date.now(), 30_000, 20);

    await waitUntil('the service to be ready again', async () => (await s.request('/readyz')).status === 200);
    const readyAt = Date.now();
    const final = await serviceDelivered(s, d, id, RECIPIENTS, 60_000);
    const doneAt = Date.now();
    const resumedAt = await resumed;

    const { lost, duplicated } = await countMailRecipients(d, smtp, id, emails);
    const counted: Counted = { expected: RECIPIENTS, sent: final.sent, failed: final.failed, lost, duplicated };

    reportFaultFigures(
      scenario,
      {
        what: `${outage.what}, after ${atStart} of ${RECIPIENTS} mails`,
        fanOut: counted,
        duringOutage: { mailsAccepted: duringOutage, rowsQueuedAtEnd: queuedAtEnd },
        recover: {
          outageMs: endedAt - startedAt,
          readyAfterMs: readyAt - endedAt,
          sendingAfterMs: resumedAt - endedAt,
          completeAfterMs: doneAt - endedAt,
        },
        hibikiRestarts: s.starts() - 1,
      },
      formatTable([
        ['scenario', 'expected', 'sent', 'failed', 'lost', 'duplicated', 'ready after', 'sending after', 'done after'],
        [
          scenario,
          ...[counted.expected, counted.sent, counted.failed, counted.lost, counted.duplicated].map(String),
          `${readyAt - endedAt} ms`,
          `${resumedAt - endedAt} ms`,
          `${doneAt - endedAt} ms`,
        ],
      ]),
    );

    expect(s.alive()).toBe(true);
    expect(s.starts()).toBe(1);
    expect(final).toEqual({ queued: 0, sent: RECIPIENTS, failed: 0, skipped: 0 });
    expect(counted.lost).toBe(0);
    // Only mail the SMTP server took while its outcome could not be written goes twice: the
    // outcomes of the one write that failed, and the sends in flight when the batches
    // stopped. Sending on regardless would resend whole batches (up to MAIL_BATCH × CONCURRENCY).
    expect(counted.duplicated).toBeLessThanOrEqual(RECORD_EVERY.results + CONCURRENCY * CONNECTIONS);
    expect(s.proc.output()).not.toMatch(/"level":50[^\n]*"msg":"unexpected error"/);
  }, 90_000);
});
