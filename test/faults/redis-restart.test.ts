import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENQUEUE_TIMEOUT_MS } from '../../src/queue/queues.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { seedContacts } from '../helpers/bulk-seed.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { type OwnRedis, startOwnRedis } from '../helpers/redis-server.ts';
import { residentEmails, tally, waitForDeliveries } from '../helpers/seed.ts';
import { waitUntil } from '../helpers/wait.ts';
import { countMailRecipients, formatTable, type MailFigures, reportFaultFigures } from './fan-out-fixture.ts';
import { acceptedId, type ServiceProcess, serviceDelivered, startService } from './service-process.ts';

/** Residents of the notice that is going out when Redis dies. */
const RECIPIENTS = 3_000;
/** Residents of a notice posted while Redis is down. */
const DURING_OUTAGE = 50;
/** Residents of the notice whose every Redis write a power cut takes back. */
const POWER_CUT = 1_000;
/** How long Redis stays down: longer than a staff request waits for it. */
const DOWN_MS = ENQUEUE_TIMEOUT_MS + 1_500;
const MAIL_BATCH = 100;
const CONCURRENCY = 4;

/**
 * Redis killed with SIGKILL in the middle of a fan-out and started again on its AOF, and
 * a power cut that takes back the last writes Redis had not fsynced: Hibiki (one `hibiki
 * all` process, never restarted) reconnects by itself and every resident gets the notice.
 */
describe('Redis restarts during a fan-out', () => {
  let redis: OwnRedis;
  let sink: SmtpSink;
  let deps: TestDeps;
  let service: ServiceProcess;

  const count = async (noticeId: string, emails: string[]): Promise<MailFigures> => {
    const { addressesSent, lost, duplicated } = await countMailRecipients(deps, sink, noticeId, emails);
    return { expected: emails.length, sent: addressesSent, lost, duplicated };
  };

  /** Every row of the notice sent: none queued, failed or skipped. */
  const expectAllSent = async (noticeId: string, rows: number) =>
    expect(tally(await deps.store.deliveries.counts(noticeId))).toEqual({
      queued: 0,
      sent: rows,
      failed: 0,
      skipped: 0,
    });

  beforeAll(async () => {
    redis = await startOwnRedis();
    sink = await startSmtpSink({ record: 'count' });
    deps = await createTestDeps({
      store: 'sqlite',
      env: {
        REDIS_URL: redis.url,
        CHANNELS: 'mail',
        SMTP_URL: sink.url,
        MAIL_BATCH: String(MAIL_BATCH),
        MAIL_CONNECTIONS: '4',
        WORKER_CONCURRENCY: String(CONCURRENCY),
      },
    });
    await seedContacts(
      deps,
      'mail',
      residentEmails(RECIPIENTS, 'a.example.jp').map((address) => ({ address })),
      ['disaster'],
    );
    await seedContacts(
      deps,
      'mail',
      residentEmails(DURING_OUTAGE, 'b.example.jp').map((address) => ({ address })),
      ['shelter'],
    );
    await seedContacts(
      deps,
      'mail',
      residentEmails(POWER_CUT, 'c.example.jp').map((address) => ({ address })),
      ['weather'],
    );
    service = await startService(deps, { LOG_LEVEL: 'info' });
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
    await deps?.dispose();
    await sink?.close();
    await redis?.close();
  });

  it('SIGKILL and restart: reconnects by itself, loses no recipient, and duplicates stay within the batches in flight', async () => {
    // Slow enough that Redis dies with most of the fan-out still to go.
    sink.setDelay(10);
    const id = await acceptedId(await service.post({ topics: ['disaster'], channels: ['mail'] }));
    await sink.waitFor(Math.round(RECIPIENTS / 4), 30_000);

    const killedAt = Date.now();
    await redis.kill('SIGKILL');
    const atKill = sink.count;

    // While Redis is down: the service says it is not ready, and a new notice is kept, not lost.
    const duringOutage = service.post({ topics: ['shelter'], channels: ['mail'], title: '避難所の追加開設' });
    const ready = await service.request('/readyz');
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { redis: string } }).checks.redis).not.toBe('ok');
    await new Promise((r) => setTimeout(r, DOWN_MS - (Date.now() - killedAt)));

    await redis.start();
    const upAt = Date.now();
    const atUp = sink.count;
    const resumed = waitUntil('sending to resume', () => sink.count > atUp && Date.now(), 30_000, 20);
    await waitUntil('the service to be ready again', async () => (await service.request('/readyz')).status === 200);
    const readyAt = Date.now();
    const resumedAt = await resumed;

    // Told it is saved but not yet queued, rather than left hanging; it goes out all the same.
    const second = await duringOutage;
    const secondBody = (await second.json()) as { error?: { code: string; message: string } };
    expect(second.status).toBe(503);
    expect(secondBody.error?.code).toBe('queue_unavailable');
    const secondId = (await deps.store.notices.list({ limit: 10 })).find((n) =>
      n.title.includes('避難所の追加開設'),
    )?.id;
    expect(secondId, `the notice posted during the outage was not stored: ${JSON.stringify(secondBody)}`).toBeTruthy();

    await serviceDelivered(service, deps, id, RECIPIENTS, 60_000);
    await waitForDeliveries(deps, secondId as string, DURING_OUTAGE, 30_000);
    const doneAt = Date.now();

    expect(service.alive()).toBe(true);
    expect(service.starts()).toBe(1);
    const main = await count(id, residentEmails(RECIPIENTS, 'a.example.jp'));
    const posted = await count(secondId as string, residentEmails(DURING_OUTAGE, 'b.example.jp'));
    await expectAllSent(id, RECIPIENTS);
    expect(main.lost).toBe(0);
    expect(posted.lost).toBe(0);

    reportFaultFigures(
      'redis-sigkill-restart',
      {
        what: `redis-server SIGKILL after ${atKill} of ${RECIPIENTS} mails, down ${upAt - killedAt} ms, restarted on its AOF (everysec)`,
        fanOut: main,
        postedDuringOutage: { ...posted, answered: second.status },
        recover: {
          redisDownMs: upAt - killedAt,
          readyAfterMs: readyAt - upAt,
          sendingAfterMs: resumedAt - upAt,
          completeAfterMs: doneAt - upAt,
        },
        hibikiRestarts: service.starts() - 1,
      },
      formatTable([
        ['notice', 'expected', 'sent', 'lost', 'duplicated'],
        ['fan-out (Redis killed mid-way)', ...[main.expected, main.sent, main.lost, main.duplicated].map(String)],
        [
          `posted while Redis down (${second.status})`,
          ...[posted.expected, posted.sent, posted.lost, posted.duplicated].map(String),
        ],
        [
          'recover',
          `down ${upAt - killedAt} ms`,
          `ready +${readyAt - upAt} ms`,
          `sending +${resumedAt - upAt} ms`,
          `done +${doneAt - upAt} ms`,
        ],
      ]),
    );
    // A batch can run twice only if its lock expired while Redis was away and it was taken
    // up again while its first run was still sending: at most one batch per worker slot.
    expect(main.duplicated + posted.duplicated).toBeLessThanOrEqual(MAIL_BATCH * CONCURRENCY);
  }, 90_000);

  it('power cut: the AOF loses its unsynced tail, and the sweeper queues the lost jobs again', async () => {
    sink.setDelay(10);
    // Redis appends each write to the file as it runs it: cutting back to here takes back
    // exactly this notice's writes, as a power cut within a second of posting it would.
    const before = redis.aofSize();
    const before0 = sink.count;
    const id = await acceptedId(await service.post({ topics: ['weather'], channels: ['mail'], title: '大雨警報' }));
    await waitUntil('the dispatch to finish and sending to start', async () => {
      const revision = await deps.store.db.kysely
        .selectFrom('revisions')
        .select('dispatched_at')
        .where('notice_id', '=', id)
        .executeTakeFirst();
      return Boolean(revision?.dispatched_at) && sink.count > before0;
    });
    const cutAt = Date.now();
    await redis.kill('SIGKILL');
    const lostBytes = redis.aofSize() - before;
    redis.truncateAof(before);
    await redis.start();
    const upAt = Date.now();
    const atCut = tally(await deps.store.deliveries.counts(id));
    const atUp = sink.count;
    const resumedAt = await waitUntil('sending to resume', () => sink.count > atUp && Date.now(), 30_000, 20);

    await serviceDelivered(service, deps, id, POWER_CUT, 60_000);
    const doneAt = Date.now();
    expect(service.alive()).toBe(true);
    expect(service.starts()).toBe(1);
    // The sweeper's own account: which batches it found without a job, and when.
    const swept = service.proc
      .output()
      .split('\n')
      .filter((line) => line.includes('batches queued again') && line.includes(id))
      .map((line) => JSON.parse(line) as { time: string; batches: number });
    const sweptBatches = swept.reduce((sum, l) => sum + l.batches, 0);
    const sweptAt = swept[0] ? Date.parse(swept[0].time) : Number.NaN;
    expect(sweptBatches, 'the sweeper queued no lost batch again').toBeGreaterThan(0);
    const c = await count(id, residentEmails(POWER_CUT, 'c.example.jp'));
    await expectAllSent(id, POWER_CUT);
    expect(c.lost).toBe(0);
    reportFaultFigures(
      'redis-power-cut',
      {
        what: `redis-server SIGKILL with ${atCut.queued} of ${POWER_CUT} rows queued; AOF cut back ${lostBytes} bytes (every write since the notice was posted)`,
        fanOut: c,
        lostJobsFoundAgain: { batches: sweptBatches, afterMs: sweptAt - upAt },
        recover: { redisDownMs: upAt - cutAt, sendingAfterMs: resumedAt - upAt, completeAfterMs: doneAt - upAt },
        hibikiRestarts: service.starts() - 1,
      },
      formatTable([
        ['notice', 'expected', 'sent', 'lost', 'duplicated'],
        ['fan-out (AOF tail lost)', ...[c.expected, c.sent, c.lost, c.duplicated].map(String)],
        [
          'recover',
          `down ${upAt - cutAt} ms`,
          `${sweptBatches} batches re-queued +${sweptAt - upAt} ms`,
          `done +${doneAt - upAt} ms`,
          '',
        ],
      ]),
    );
    // The batches in flight when Redis died finish, but Redis has forgotten them: only
    // those can be sent again, and only their recipients not yet recorded.
    expect(c.duplicated).toBeLessThanOrEqual(MAIL_BATCH * CONCURRENCY);
  }, 90_000);
});
