import { afterEach, describe, expect, it } from 'vitest';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { residentEmails, seedMailSubscribers, tally, waitForDeliveries } from '../helpers/seed.ts';
import { waitUntil } from '../helpers/wait.ts';

/** Workers limited by WORKER_QUEUES, over real Redis: each takes its queues and leaves the rest. */
describe('a worker limited to some queues (WORKER_QUEUES)', () => {
  let deps: TestDeps | undefined;
  let sink: SmtpSink | undefined;
  const running: RunningWorkers[] = [];

  afterEach(async () => {
    for (const w of running.splice(0)) await w.close();
    await deps?.dispose();
    await sink?.close();
    deps = sink = undefined;
  });

  it('takes only its queues; a second worker on the mail queue sends the mail, each once', async () => {
    sink = await startSmtpSink();
    deps = await createTestDeps({
      env: { CHANNELS: 'mail,cap', SMTP_URL: sink.url, WORKER_QUEUES: 'dispatch,cap' },
    });
    const emails = residentEmails(5);
    await seedMailSubscribers(deps, emails);

    const first = startWorkers(deps);
    running.push(first);
    expect(first.workers.map((w) => w.name).sort()).toEqual(['deliver-cap', 'deliver-cap-urgent', 'dispatch']);

    const id = await postNotice(await staffClient(deps), { channels: ['mail', 'cap'] });
    const d = deps;
    // Dispatched and the CAP message published, while the mail batch waits in its queue.
    await waitUntil('the CAP row sent and the mail batch queued', async () => {
      const counts = await d.store.deliveries.counts(id);
      const waiting = await d.queues.deliver('mail').getJobCounts('waiting', 'prioritized');
      return tally(counts, 'cap').sent === 1 && (waiting.waiting ?? 0) + (waiting.prioritized ?? 0) === 1;
    });
    // Long enough for a worker on the mail queue to have taken the batch, were there one.
    await new Promise((r) => setTimeout(r, 500));
    expect(sink.count).toBe(0);
    expect(tally(await deps.store.deliveries.counts(id), 'mail')).toMatchObject({ queued: 5, sent: 0 });

    const mailOnly = startWorkers({ ...deps, config: { ...deps.config, workerQueues: ['mail'] } });
    running.push(mailOnly);
    expect(mailOnly.workers.map((w) => w.name).sort()).toEqual(['deliver-mail', 'deliver-mail-urgent']);
    expect(await waitForDeliveries(deps, id, 6)).toEqual({ queued: 0, sent: 6, failed: 0, skipped: 0 });
    expect(sink.count).toBe(5);
    expect(sink.envelopes.flatMap((e) => e.rcptTo).sort()).toEqual(emails);
  });

  it('without the dispatch queue, leaves a posted notice for a worker that has it', async () => {
    sink = await startSmtpSink();
    deps = await createTestDeps({ env: { CHANNELS: 'mail,cap', SMTP_URL: sink.url, WORKER_QUEUES: 'mail,cap' } });
    await seedMailSubscribers(deps, residentEmails(2));
    const deliverers = startWorkers(deps);
    running.push(deliverers);
    expect(deliverers.workers.map((w) => w.name).sort()).toEqual([
      'deliver-cap',
      'deliver-cap-urgent',
      'deliver-mail',
      'deliver-mail-urgent',
    ]);

    const id = await postNotice(await staffClient(deps), { channels: ['mail', 'cap'] });
    await new Promise((r) => setTimeout(r, 500));
    const waiting = await deps.queues.dispatch.getJobCounts('waiting', 'prioritized');
    expect((waiting.waiting ?? 0) + (waiting.prioritized ?? 0)).toBe(1);
    expect(await deps.store.deliveries.counts(id)).toEqual([]);

    running.push(startWorkers({ ...deps, config: { ...deps.config, workerQueues: ['dispatch'] } }));
    expect(await waitForDeliveries(deps, id, 3)).toEqual({ queued: 0, sent: 3, failed: 0, skipped: 0 });
    expect(sink.count).toBe(2);
  });
});
