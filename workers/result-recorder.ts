import type { RecipientResult } from '../channels/types.ts';
import type { DeliveryRepo } from '../src/store/deliveries.ts';
import type { SubscriberRepo } from '../src/store/subscribers.ts';

/** A write is made once this many results wait, or this long after the first of them. */
export const RECORD_EVERY = { results: 20, ms: 20 };

/**
 * Records per-recipient outcomes while a batch is still sending. Outcomes are gathered for
 * at most RECORD_EVERY (20 results or 20 ms) and written in one statement, so the store
 * sees a few larger writes instead of one per recipient; a worker killed mid-batch has left
 * unrecorded only the sends in flight and the outcomes of those last milliseconds (the only
 * recipients who can get a message twice).
 */
export function createResultRecorder(deliveries: DeliveryRepo, subscribers: SubscriberRepo) {
  let buffer: RecipientResult[] = [];
  let writing: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let failure: unknown = null;
  const totals = { sent: 0, failed: 0, retry: 0 };
  const retries: Extract<RecipientResult, { status: 'retry' }>[] = [];
  // A channel reports through onResult and returns the same results: record each once.
  const seen = new Set<number>();

  async function write(results: RecipientResult[]) {
    const sent: { id: number; providerId?: string }[] = [];
    const failed: { id: number; reason: string }[] = [];
    const dead: number[] = [];
    const retry: { id: number; reason: string }[] = [];
    for (const r of results) {
      if (r.status === 'sent')
        sent.push(r.providerId === undefined ? { id: r.deliveryId } : { id: r.deliveryId, providerId: r.providerId });
      else if (r.status === 'failed') {
        failed.push({ id: r.deliveryId, reason: r.reason });
        if (r.deactivate) dead.push(r.deliveryId);
      } else retry.push({ id: r.deliveryId, reason: r.reason });
    }
    await deliveries.markSent(sent);
    await deliveries.markFinal(failed, 'failed');
    if (retry.length > 0) await deliveries.noteRetry(retry);
    if (dead.length > 0)
      await subscribers.deactivateContacts(await deliveries.contactsOf(dead), 'address rejected by provider');
  }

  function pump() {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (writing || buffer.length === 0) return;
    const next = buffer;
    buffer = [];
    writing = write(next)
      .catch((err) => {
        failure = err;
      })
      .finally(() => {
        writing = null;
        pump();
      });
  }

  return {
    add(result: RecipientResult) {
      if (seen.has(result.deliveryId)) return;
      seen.add(result.deliveryId);
      totals[result.status]++;
      if (result.status === 'retry') retries.push(result);
      buffer.push(result);
      if (buffer.length >= RECORD_EVERY.results) pump();
      else timer ??= setTimeout(pump, RECORD_EVERY.ms);
    },
    /** Waits until everything added is written; rethrows a store error. */
    async flush(): Promise<void> {
      while (writing || buffer.length > 0) {
        pump();
        if (writing) await writing;
      }
      if (failure) throw failure;
    },
    totals,
    retries,
  };
}
