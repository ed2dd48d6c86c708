import { afterEach, describe, expect, it } from 'vitest';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { residentEmails, seedMailSubscribers, tally, waitForDeliveries } from '../helpers/seed.ts';

/** The spine end to end: API → dispatch → deliver → real SMTP server, and the CAP archive. */
describe('notice pipeline over real Redis and SMTP', () => {
  let deps: TestDeps | undefined;
  let sink: SmtpSink | undefined;
  let workers: RunningWorkers | undefined;

  async function setUp(env: Record<string, string> = {}, sinkOptions: Parameters<typeof startSmtpSink>[0] = {}) {
    sink = await startSmtpSink(sinkOptions);
    deps = await createTestDeps({ env: { CHANNELS: 'mail,cap', SMTP_URL: sink.url, ...env } });
    workers = startWorkers(deps);
    return { deps, sink };
  }

  afterEach(async () => {
    await workers?.close();
    await deps?.dispose();
    await sink?.close();
    workers = deps = sink = undefined;
  });

  it('sends a notice to 3 subscribers as 3 mails with 3 sent rows, and publishes its CAP message', async () => {
    const { deps, sink } = await setUp();
    const emails = residentEmails(3);
    await seedMailSubscribers(deps, emails);
    const client = await staffClient(deps);
    const id = await postNotice(client);

    const messages = await sink.waitFor(3, 15_000);
    expect(messages.map((m) => m.envelope.rcptTo[0]).sort()).toEqual(emails);
    for (const m of messages) expect(m.parsed.subject).toContain('避難所の開設について');

    await waitForDeliveries(deps, id, 4);
    const counts = await deps.store.deliveries.counts(id);
    expect(tally(counts, 'mail')).toEqual({ queued: 0, sent: 3, failed: 0, skipped: 0 });
    expect(tally(counts, 'cap')).toEqual({ queued: 0, sent: 1, failed: 0, skipped: 0 });
    const rows = await deps.store.deliveries.list(id, { channel: 'mail', limit: 10 });
    expect(rows.every((r) => r.attempts === 1 && r.sentAt !== null)).toBe(true);
    const revision = await deps.store.notices.getRevision(id, 1);
    expect(await deps.store.capMessages.get(revision?.capIdentifier ?? '')).toBeTruthy();
  });

  it('retries greylisting (451 twice) and delivers one mail on the third attempt', async () => {
    const { deps, sink } = await setUp();
    await seedMailSubscribers(deps, residentEmails(1));
    sink.failNext(2, 451, '4.7.1 Greylisted, please try again later');
    const id = await postNotice(await staffClient(deps), { channels: ['mail'] });

    await waitForDeliveries(deps, id, 1);
    expect(sink.count).toBe(1);
    const [row] = await deps.store.deliveries.list(id, { channel: 'mail', limit: 10 });
    expect(row).toMatchObject({ status: 'sent', attempts: 3 });
  });

  it('fails a 550 recipient at once, deactivates it, and sends the others', async () => {
    const { deps, sink } = await setUp();
    const emails = residentEmails(4);
    await seedMailSubscribers(deps, emails);
    sink.rejectRecipient(emails[1] as string, 550, '5.1.1 No such user');
    const id = await postNotice(await staffClient(deps), { channels: ['mail'] });

    const t = await waitForDeliveries(deps, id, 4);
    expect(t).toEqual({ queued: 0, sent: 3, failed: 1, skipped: 0 });
    expect(sink.count).toBe(3);
    const [failed] = await deps.store.deliveries.list(id, { status: 'failed', limit: 10 });
    expect(failed?.attempts).toBe(1);
    expect(failed?.lastError).toMatch(/550/);
    expect(failed?.lastError).not.toContain(emails[1]);
    // The dead address gets nothing more.
    const contact = await deps.store.subscribers.contact(Number(failed?.recipient));
    expect(contact?.active).toBe(false);
  });

  it('sends an emergency posted behind a 2,000-recipient routine notice before the routine one finishes', async () => {
    // One connection and a slow server make the routine backlog take seconds to drain.
    const { deps, sink } = await setUp({ MAIL_CONNECTIONS: '2', WORKER_CONCURRENCY: '2' }, { record: 'count' });
    sink.setDelay(2);
    await seedMailSubscribers(deps, residentEmails(2_000));
    const author = await staffClient(deps, 'approver');
    const routine = await postNotice(author, { channels: ['mail'], title: '定例のお知らせ' });
    // Let the routine fan-out get going, so the emergency really arrives behind a backlog.
    await sink.waitFor(50, 15_000).catch(() => undefined);
    const emergency = await postNotice(author, {
      channels: ['mail'],
      severity: 'emergency',
      category: '避難情報',
      title: '【避難指示】菊池川流域',
    });

    await waitForDeliveries(deps, emergency, 2_000, 60_000);
    const routineAtThatMoment = tally(await deps.store.deliveries.counts(routine));
    expect(routineAtThatMoment.queued).toBeGreaterThan(0);
    await waitForDeliveries(deps, routine, 2_000, 60_000);
    expect(sink.count).toBe(4_000);
  }, 120_000);
});
