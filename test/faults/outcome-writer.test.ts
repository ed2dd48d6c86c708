import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutcomeWriter, RECORD_EVERY } from '../../workers/result-recorder.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { seedContacts } from '../helpers/bulk-seed.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { residentEmails, tally } from '../helpers/seed.ts';

/**
 * The outcome writer is what makes a graceful stop send nobody twice: a batch's job ends
 * only once every outcome it reported is in the store. Found by the graceful-deploy fault
 * test: the outcome that filled the buffer (a LINE multicast reports 500 at once) started a
 * write whose promise nobody held, so the job could end, and the process exit, before it.
 */
describe('outcome writer', () => {
  let deps: TestDeps;

  beforeAll(async () => {
    deps = await createTestDeps();
  });

  afterAll(async () => {
    await deps.dispose();
  });

  it('gives every outcome, the one that fills the buffer included, a promise that settles once its row is written', async () => {
    const n = RECORD_EVERY.results * 2 + 7;
    const contactIds = await seedContacts(
      deps,
      'mail',
      residentEmails(n, 'writer.example.jp').map((address) => ({ address })),
    );
    // No worker runs here: the notice stays queued, and its rows are written by hand below.
    const noticeId = await postNotice(await staffClient(deps), { channels: ['mail'] });
    await deps.store.deliveries.insertQueued(
      contactIds.map((contactId) => ({
        noticeId,
        revision: 1,
        channel: 'mail' as const,
        recipient: String(contactId),
        contactId,
        batch: 0,
      })),
    );
    const rows = await deps.store.deliveries.pending({ noticeId, revision: 1, channel: 'mail', batch: 0 });
    expect(rows).toHaveLength(n);

    const writer = createOutcomeWriter(deps.store.deliveries, deps.store.subscribers);
    // All at once, as a channel reporting a whole request's recipients does.
    const written = rows.map((r) => writer.add({ deliveryId: r.id, status: 'sent' }));
    for (const w of written) expect(w).toBeInstanceOf(Promise);

    const filling = rows[RECORD_EVERY.results - 1];
    await written[RECORD_EVERY.results - 1];
    const still = await deps.store.deliveries.pending({ noticeId, revision: 1, channel: 'mail', batch: 0 });
    expect(still.map((r) => r.id)).not.toContain(filling?.id);

    await Promise.all(written);
    expect(tally(await deps.store.deliveries.counts(noticeId), 'mail')).toMatchObject({ queued: 0, sent: n });
  });
});
