import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { signedInConsole } from '../helpers/console.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { residentEmails, seedMailSubscribers, tally, waitForDeliveries } from '../helpers/seed.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { waitUntil } from '../helpers/wait.ts';
import { formatTable, reportFaultFigures } from './fan-out-fixture.ts';

const RESIDENTS = 30;
/**
 * The clock is shortened: 3 attempts 100 ms apart, so the old behaviour (every batch failed
 * for good after its attempts) is over within a second of the relay going away, and the
 * relay stays away for many times that. The probe waits grow 100 ms → 800 ms (RETRY_MAX_MS).
 */
const SHORT_CLOCK = {
  CHANNELS: 'mail',
  MAIL_BATCH: '5',
  // One connection and one batch at a time: the cut falls between two messages, so the
  // count of copies each resident gets is exact (see the cut below).
  MAIL_CONNECTIONS: '1',
  WORKER_CONCURRENCY: '1',
  DELIVERY_ATTEMPTS: '3',
  RETRY_BASE_MS: '100',
  RETRY_MAX_MS: '800',
};
/** "10 minutes" of relay outage, on the short clock: many times what 3 attempts last. */
const OUTAGE_MS = 5_000;

interface Readyz {
  status: string;
  message_en?: string;
  channels: Record<string, { status: string; since?: string; reason?: string }>;
}

describe('the SMTP relay down in the middle of a notice', () => {
  let deps: TestDeps;
  let sink: SmtpSink;
  let relay: TcpProxy;
  let workers: RunningWorkers;

  beforeAll(async () => {
    sink = await startSmtpSink();
    // The relay as the workers see it: the proxy refuses (resets) connections while it is cut.
    relay = await startTcpProxy({ host: '127.0.0.1', port: sink.port });
    deps = await createTestDeps({ env: { ...SHORT_CLOCK, SMTP_URL: `smtp://127.0.0.1:${relay.port}` } });
    await seedMailSubscribers(deps, residentEmails(RESIDENTS, 'outage.example.jp'));
    workers = startWorkers(deps);
  });
  afterAll(async () => {
    await workers?.close();
    await deps?.dispose();
    await relay?.close();
    await sink?.close();
  });

  it('holds every delivery while the relay is down, says so, and sends each once when it is back; a 550 fails alone', async () => {
    const dead = residentEmails(RESIDENTS, 'outage.example.jp')[RESIDENTS - 3] as string;
    sink.rejectRecipient(dead, 550, '5.1.1 No such user');
    sink.setDelay(20);
    const client = await staffClient(deps);
    const app = createApp(deps);
    const id = await postNotice(client, { title: '断水のお知らせ（第1報）', channels: ['mail'] });

    // Mid-notice: after the first messages, the relay stops. The sink first stops answering
    // MAIL FROM, so the message in flight was not taken (no copy the client never heard
    // of), then the way to it is cut: open connections reset, new ones refused.
    await sink.waitFor(8, 20_000);
    sink.storm.set({ kind: 'hang' });
    await waitUntil('a MAIL FROM left unanswered', () =>
      sink.commands.some((c) => c.command === 'MAIL FROM' && c.code === 0),
    );
    relay.cut();
    sink.storm.set({ kind: 'calm' });
    const before = sink.count;
    const cutAt = Date.now();

    await sleep(OUTAGE_MS);
    const during = tally(await deps.store.deliveries.counts(id));
    const queuedRows = (await deps.store.deliveries.list(id, { status: 'queued', limit: 100 })).filter(
      (r) => r.channel === 'mail',
    );
    // /readyz: still 200 (the process takes notices; other channels deliver), and it says mail is down since when.
    const ready = await app.request('/readyz');
    const readyBody = (await ready.json()) as Readyz;
    // The console's notice list and the notice's page say so too.
    const staff = await signedInConsole(app, deps.store.tokens, 'author');
    const listPage = await staff.page('/console/notices');
    const noticePage = await staff.page(`/console/notices/${id}`);
    const probes = relay.refused;

    relay.restore();
    const restoredAt = Date.now();
    const done = await waitForDeliveries(deps, id, RESIDENTS, 30_000);
    const recoverMs = Date.now() - restoredAt;

    // Nothing was failed for the outage: only the 550 recipient, which the relay refused itself.
    expect(during.failed).toBeLessThanOrEqual(1);
    expect(during.queued).toBeGreaterThan(0);
    expect(done).toEqual({ queued: 0, sent: RESIDENTS - 1, failed: 1, skipped: 0 });
    // The workers kept probing the relay while it was down (each probe a refused connection).
    expect(probes).toBeGreaterThan(1);

    // Every resident got the notice exactly once (the 550 one never).
    const copies = new Map<string, number>();
    for (const e of sink.envelopes) for (const to of e.rcptTo) copies.set(to, (copies.get(to) ?? 0) + 1);
    const expected = residentEmails(RESIDENTS, 'outage.example.jp').filter((a) => a !== dead);
    expect([...copies.keys()].sort()).toEqual([...expected].sort());
    expect([...copies.values()].every((n) => n === 1)).toBe(true);

    // No attempt was spent on the outage: rows held through it had none counted, and every
    // row ends with exactly the one attempt that delivered it (or was refused).
    expect(queuedRows.length).toBeGreaterThan(0);
    expect(queuedRows.map((r) => r.attempts)).toEqual(queuedRows.map(() => 0));
    const rows = await deps.store.deliveries.list(id, { limit: 100 });
    expect(rows.map((r) => r.attempts)).toEqual(rows.map(() => 1));
    const failed = rows.filter((r) => r.status === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.lastError).toContain('550 5.1.1');

    expect(ready.status).toBe(200);
    expect(readyBody.status).toBe('degraded');
    expect(readyBody.channels.mail).toMatchObject({ status: 'down', reason: expect.stringContaining('SMTP server') });
    const since = Date.parse(readyBody.channels.mail?.since ?? '');
    expect(since).toBeGreaterThanOrEqual(cutAt - 1_000);
    expect(since).toBeLessThanOrEqual(cutAt + OUTAGE_MS);
    expect(readyBody.message_en).toContain('E-mail (since');
    for (const page of [listPage, noticePage]) {
      expect(page).toContain('data-banner="channel-down"');
      expect(page).toContain('メール配信が停止中です');
      expect(page).toContain('E-mail delivery is down since');
    }

    // Back up: the state is cleared, /readyz and the console say nothing is down.
    const after = (await (await app.request('/readyz')).json()) as Readyz;
    expect(after).toMatchObject({ status: 'ok', channels: { mail: { status: 'up' } } });
    expect(await staff.page('/console/notices')).not.toContain('data-banner="channel-down"');

    reportFaultFigures(
      'provider-outage',
      {
        done: `notice to ${RESIDENTS} mail residents; the relay cut after ${before} messages for ${OUTAGE_MS} ms (DELIVERY_ATTEMPTS 3, RETRY_BASE_MS 100, RETRY_MAX_MS 800), then restored`,
        duringOutage: during,
        probesRefused: probes,
        after: done,
        copies: { min: Math.min(...copies.values()), max: Math.max(...copies.values()) },
        recoverMs,
      },
      formatTable([
        [
          'expected',
          'sent before cut',
          'queued during outage',
          'failed during outage',
          'sent after',
          'failed (550)',
          'duplicated',
          'probes',
          'recover ms',
        ],
        [
          String(RESIDENTS - 1),
          String(before),
          String(during.queued),
          String(during.failed),
          String(done.sent),
          String(done.failed),
          String(sink.count - (RESIDENTS - 1)),
          String(probes),
          String(recoverMs),
        ],
      ]),
    );
  }, 60_000);
});

describe('the SMTP relay down for longer than DELIVERY_GIVE_UP_AFTER', () => {
  let deps: TestDeps;
  let sink: SmtpSink;
  let relay: TcpProxy;
  let workers: RunningWorkers;

  beforeAll(async () => {
    sink = await startSmtpSink();
    relay = await startTcpProxy({ host: '127.0.0.1', port: sink.port });
    relay.cut();
    deps = await createTestDeps({
      env: { ...SHORT_CLOCK, DELIVERY_GIVE_UP_AFTER: '3s', SMTP_URL: `smtp://127.0.0.1:${relay.port}` },
    });
    await seedMailSubscribers(deps, residentEmails(7, 'gaveup.example.jp'));
    workers = startWorkers(deps);
  });
  afterAll(async () => {
    await workers?.close();
    await deps?.dispose();
    await relay?.close();
    await sink?.close();
  });

  it('fails what is left with a reason naming the setting, and spends no attempt on it', async () => {
    const client = await staffClient(deps);
    const postedAt = Date.now();
    const id = await postNotice(client, { title: '断水のお知らせ', channels: ['mail'] });
    const done = await waitForDeliveries(deps, id, 7, 30_000);
    const tookMs = Date.now() - postedAt;
    expect(done).toEqual({ queued: 0, sent: 0, failed: 7, skipped: 0 });
    // Held for the whole DELIVERY_GIVE_UP_AFTER, though 3 attempts would have been over in well under a second.
    expect(tookMs).toBeGreaterThanOrEqual(3_000);
    const rows = await deps.store.deliveries.list(id, { limit: 10 });
    for (const row of rows) {
      expect(row.lastError).toContain('DELIVERY_GIVE_UP_AFTER（3s）');
      expect(row.lastError).toContain('longer than DELIVERY_GIVE_UP_AFTER (3s)');
      expect(row.attempts).toBe(0);
    }
    expect(sink.count).toBe(0);
    expect(relay.refused).toBeGreaterThan(3);
  }, 40_000);
});
