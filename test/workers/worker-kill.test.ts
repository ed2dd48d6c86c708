import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { type HibikiProcess, startHibiki } from '../helpers/process.ts';
import { residentEmails, seedMailSubscribers, tally, waitForDeliveries } from '../helpers/seed.ts';

const RECIPIENTS = 300;
const CONNECTIONS = 2;
const CONCURRENCY = 2;

/**
 * A worker process killed with SIGKILL in the middle of a batch: its job stalls, a new
 * worker takes it up, and every recipient ends with exactly one sent row. Mail has no
 * idempotency key, so the recipients whose mail the SMTP server had accepted but whose
 * row was not yet written get it twice; that is bounded by the sends in flight.
 */
describe('a worker killed mid-batch', () => {
  let deps: TestDeps;
  let sink: SmtpSink;
  const procs: HibikiProcess[] = [];

  beforeAll(async () => {
    sink = await startSmtpSink({ record: 'count' });
    deps = await createTestDeps({
      env: {
        CHANNELS: 'mail',
        SMTP_URL: sink.url,
        MAIL_CONNECTIONS: String(CONNECTIONS),
        WORKER_CONCURRENCY: String(CONCURRENCY),
        MAIL_BATCH: '100',
      },
    });
  });

  afterAll(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await deps.dispose();
    await sink.close();
  });

  it('loses no recipient, and duplicates stay within the sends in flight', async () => {
    await seedMailSubscribers(deps, residentEmails(RECIPIENTS));
    sink.setDelay(15);
    const first = startHibiki('worker', deps.env);
    procs.push(first);
    const id = await postNotice(await staffClient(deps), { channels: ['mail'] });

    await sink.waitFor(60, 20_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = tally(await deps.store.deliveries.counts(id));
    const receivedAtKill = sink.count;
    expect(atKill.queued).toBeGreaterThan(0);

    sink.setDelay(0);
    const second = startHibiki('worker', deps.env);
    procs.push(second);
    const final = await waitForDeliveries(deps, id, RECIPIENTS, 40_000).catch((err) => {
      throw new Error(`${err}\nsecond worker said:\n${second.output()}`);
    });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    expect(final).toEqual({ queued: 0, sent: RECIPIENTS, failed: 0, skipped: 0 });
    const perRecipient = new Map<string, number>();
    for (const e of sink.envelopes) for (const r of e.rcptTo) perRecipient.set(r, (perRecipient.get(r) ?? 0) + 1);
    expect(perRecipient.size).toBe(RECIPIENTS);
    const duplicates = sink.count - RECIPIENTS;
    console.log(
      `worker kill: ${receivedAtKill} mails accepted before SIGKILL, ${atKill.sent} rows recorded sent; ` +
        `${duplicates} recipients got the mail twice (bound: ${2 * CONNECTIONS * CONCURRENCY})`,
    );
    // Accepted by the server but not yet recorded: at most one message per pooled connection
    // of each batch in flight, plus those finished during the last store write.
    expect(duplicates).toBeLessThanOrEqual(2 * CONNECTIONS * CONCURRENCY);
  }, 90_000);
});
