import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverJobId, dispatchJobId } from '../../src/queue/names.ts';
import { type SweepSettings, sweepLostJobs } from '../../workers/lost-job-sweeper.ts';
import { postNotice, type StaffClient, staffClient } from '../helpers/api.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { residentEmails, seedMailSubscribers } from '../helpers/seed.ts';

const SETTINGS: SweepSettings = { intervalMs: 1_000, idleMs: 2_000, lookbackMs: 24 * 60 * 60_000 };
/** A sweep as if run later than the idle time: the rows and notices here count as idle. */
const later = () => new Date(Date.now() + 60_000);

/**
 * The sweeper queues again only what Redis lost: never work a live job will do, never a
 * notice that nobody is to receive (a scheduled notice withdrawn before its time).
 * No worker runs here, so every job stays where the test puts it.
 */
describe('the lost-job sweeper', () => {
  let deps: TestDeps;
  let staff: StaffClient;

  beforeAll(async () => {
    deps = await createTestDeps({ env: { CHANNELS: 'mail', MAIL_BATCH: '2' } });
    staff = await staffClient(deps);
    await seedMailSubscribers(deps, residentEmails(5, 'sweep.example.jp'));
  });
  afterAll(async () => {
    await deps.dispose();
  });

  const dispatchState = (id: string, revision = 1) => deps.queues.dispatch.getJobState(dispatchJobId(id, revision));

  it('leaves a waiting dispatch alone, and queues one Redis lost again under the same id', async () => {
    const id = await postNotice(staff, { channels: ['mail'] });
    expect(await dispatchState(id)).not.toBe('unknown');
    expect((await sweepLostJobs(deps, SETTINGS, later())).dispatches).toBe(0);

    await deps.queues.dispatch.remove(dispatchJobId(id, 1));
    expect(await dispatchState(id)).toBe('unknown');
    // Not yet idle: a notice posted a moment ago may still be on its way to Redis.
    expect((await sweepLostJobs(deps, SETTINGS)).dispatches).toBe(0);
    expect((await sweepLostJobs(deps, SETTINGS, later())).dispatches).toBeGreaterThanOrEqual(1);
    expect(await dispatchState(id)).not.toBe('unknown');
    await deps.queues.dispatch.remove(dispatchJobId(id, 1));
    await deps.store.notices.setStatus(id, 'dispatched');
  });

  it('queues a lost scheduled dispatch for its time, and never a scheduled notice withdrawn before it', async () => {
    const at = new Date(Date.now() + 30 * 60_000);
    const kept = await postNotice(staff, { channels: ['mail'], scheduledAt: at.toISOString() });
    const withdrawn = await postNotice(staff, { channels: ['mail'], scheduledAt: at.toISOString(), title: '中止' });
    const cancel = await staff.post(`/v1/notices/${withdrawn}/cancel`, {});
    expect(cancel.status).toBeLessThan(300);
    expect(await dispatchState(withdrawn, 2)).toBe('unknown');

    await deps.queues.dispatch.remove(dispatchJobId(kept, 1));
    const now = later();
    await sweepLostJobs(deps, SETTINGS, now);
    const job = await deps.queues.dispatch.getJob(dispatchJobId(kept, 1));
    expect(await job?.getState()).toBe('delayed');
    expect(job?.opts.delay).toBe(at.getTime() - now.getTime());
    expect(await dispatchState(withdrawn, 1)).toBe('unknown');
    expect(await dispatchState(withdrawn, 2)).toBe('unknown');
  });

  it('queues again the batches whose rows are still queued and whose jobs are gone, and only those', async () => {
    const id = await postNotice(staff, { channels: ['mail'] });
    await deps.queues.dispatch.remove(dispatchJobId(id, 1));
    const contacts = await deps.store.db.kysely
      .selectFrom('contacts')
      .select('id')
      .where('channel', '=', 'mail')
      .orderBy('id')
      .execute();
    // What a dispatch leaves behind: rows in batches of two, and its progress saved as finished.
    await deps.store.deliveries.insertQueued(
      contacts.map((c, i) => ({
        noticeId: id,
        revision: 1,
        channel: 'mail' as const,
        recipient: String(c.id),
        contactId: Number(c.id),
        batch: Math.floor(i / 2),
      })),
    );
    await deps.store.notices.saveDispatchState(id, 1, { mail: { after: 0, nextBatch: 3, done: true } }, true);
    await deps.store.notices.setStatus(id, 'dispatched');
    // Batch 0's job is waiting (a live job); batch 1's was lost; batch 2 was sent already.
    await deps.queues.enqueueDeliver('mail', [0], { noticeId: id, revision: 1 }, { priority: 10 });
    const batch2 = await deps.store.deliveries.pending({ noticeId: id, revision: 1, channel: 'mail', batch: 2 });
    await deps.store.deliveries.markSent(batch2.map((p) => ({ id: p.id })));

    expect((await sweepLostJobs(deps, SETTINGS)).batches).toBe(0);
    const swept = await sweepLostJobs(deps, SETTINGS, later());
    expect(swept.batches).toBe(1);
    const live = await deps.queues.deliver('mail').getRanges(['wait', 'prioritized', 'delayed', 'active'], 0, -1);
    const ofNotice = live.filter((j) => j.startsWith(`d-${id}-`)).sort();
    expect(ofNotice).toHaveLength(2);
    expect(ofNotice[0]).toBe(deliverJobId(id, 1, 'mail', 0));
    expect(ofNotice[1]).toMatch(new RegExp(`^${deliverJobId(id, 1, 'mail', 1)}-retry\\d+$`));
    // Found again, it has a live job now: a second sweep adds nothing.
    expect((await sweepLostJobs(deps, SETTINGS, later())).batches).toBe(0);
  });
});
