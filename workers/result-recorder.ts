import type { RecipientResult } from '../channels/types.ts';
import type { DeliveryRepo } from '../src/store/deliveries.ts';
import type { SubscriberRepo } from '../src/store/subscribers.ts';

/** A write is made once this many outcomes wait, or this long after the first of them. */
export const RECORD_EVERY = { results: 50, ms: 20 };

export type OutcomeWriter = ReturnType<typeof createOutcomeWriter>;

/**
 * Writes per-recipient outcomes for every batch a worker process is sending, gathered for
 * at most RECORD_EVERY and written in one statement per kind. Sharing it across the
 * batches in flight keeps the store's load at a few writes a second however many batches
 * run at once, and a worker killed mid-batch leaves unrecorded only the sends in flight
 * and the outcomes of the last few milliseconds (the only recipients who can get a
 * message twice).
 */
export function createOutcomeWriter(deliveries: DeliveryRepo, subscribers: SubscriberRepo) {
  let buffer: RecipientResult[] = [];
  let next: { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } | null = null;
  let writing = false;
  let timer: NodeJS.Timeout | null = null;

  async function write(results: RecipientResult[]) {
    const sent: { id: number; providerId?: string }[] = [];
    const failed: { id: number; reason: string }[] = [];
    const dead: number[] = [];
    const retry: { id: number; reason: string }[] = [];
    for (const r of results) {
      if (r.status === 'sent') {
        sent.push(r.providerId === undefined ? { id: r.deliveryId } : { id: r.deliveryId, providerId: r.providerId });
      } else if (r.status === 'failed') {
        failed.push({ id: r.deliveryId, reason: r.reason });
        if (r.deactivate) dead.push(r.deliveryId);
      } else retry.push({ id: r.deliveryId, reason: r.reason });
    }
    await deliveries.markSent(sent);
    await deliveries.markFinal(failed, 'failed');
    await deliveries.noteRetry(retry);
    if (dead.length > 0) {
      await subscribers.deactivateContacts(await deliveries.contactsOf(dead), 'address rejected by provider');
    }
  }

  function pump() {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (writing || buffer.length === 0 || !next) return;
    const results = buffer;
    const done = next;
    buffer = [];
    next = null;
    writing = true;
    write(results)
      .then(done.resolve, done.reject)
      .finally(() => {
        writing = false;
        pump();
      });
  }

  return {
    /** Queues an outcome; the promise settles when the write that holds it has. */
    add(result: RecipientResult): Promise<void> {
      buffer.push(result);
      if (!next) {
        let resolve!: () => void;
        let reject!: (err: unknown) => void;
        const promise = new Promise<void>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        // Whoever waits on it sees the error; an outcome nobody awaits must not crash the process.
        promise.catch(() => undefined);
        next = { promise, resolve, reject };
      }
      // Taken before pump(), which hands `next` to the write it starts and clears it.
      const written = next.promise;
      if (buffer.length >= RECORD_EVERY.results) pump();
      else timer ??= setTimeout(pump, RECORD_EVERY.ms);
      return written;
    },
    /** Writes what waits now instead of after the interval. */
    writeNow: pump,
  };
}

/** One batch's outcomes: counted once each, and written through the shared writer. */
export function createBatchOutcomes(writer: OutcomeWriter, onWriteError?: (err: unknown) => void) {
  const totals = { sent: 0, failed: 0, retry: 0 };
  const retries: Extract<RecipientResult, { status: 'retry' }>[] = [];
  // A channel reports through onResult and returns the same results: record each once.
  const seen = new Set<number>();
  const writes = new Set<Promise<void>>();

  return {
    add(result: RecipientResult) {
      if (seen.has(result.deliveryId)) return;
      seen.add(result.deliveryId);
      totals[result.status]++;
      if (result.status === 'retry') retries.push(result);
      const write = writer.add(result);
      if (onWriteError) write.catch(onWriteError);
      writes.add(write);
    },
    /** Waits until every outcome of this batch is in the store; rethrows a store error. */
    async flush(): Promise<void> {
      writer.writeNow();
      await Promise.all(writes);
    },
    totals,
    retries,
  };
}
