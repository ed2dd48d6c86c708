import { type Job, RateLimitError, UnrecoverableError, Worker } from 'bullmq';
import type { Channel, Recipient } from '../channels/types.ts';
import type { Deps } from '../src/deps.ts';
import type { Locale, NoticeView } from '../src/domain/notice.ts';
import { toNoticeView } from '../src/domain/notice-view.ts';
import { type DeliverJobData, deliverQueueName } from '../src/queue/names.ts';
import { RetryLaterError, toBullmqError } from './failure.ts';
import { createBatchOutcomes, createOutcomeWriter } from './result-recorder.ts';
import { baseWorkerOptions } from './worker-options.ts';

/** Notice views by notice and revision: every batch of one revision renders the same notice. */
function createViewCache(deps: Deps, size = 64) {
  const cache = new Map<string, NoticeView>();
  return async (noticeId: string, revision: number): Promise<NoticeView | undefined> => {
    const key = `${noticeId}/${revision}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const revisions = await deps.store.notices.revisions(noticeId);
    const current = revisions.find((r) => r.revision === revision);
    if (!current) return undefined;
    const view = toNoticeView(current, revisions, deps.links, deps.config.city, deps.areas);
    if (cache.size >= size) cache.delete(cache.keys().next().value as string);
    cache.set(key, view);
    return view;
  };
}

/**
 * Sends one batch: only the rows still queued (a retry never resends what was delivered),
 * rendering once per locale, recording each outcome as it comes.
 */
export function createDeliverProcessor(deps: Deps, channel: Channel) {
  const { store, logger, metrics, links } = deps;
  const viewOf = createViewCache(deps);
  const queue = deps.queues.deliver(channel.id);
  const writer = createOutcomeWriter(store.deliveries, store.subscribers);

  return async function deliver(
    job: Job<DeliverJobData>,
    _token?: string,
    signal?: AbortSignal,
  ): Promise<{ sent: number; failed: number }> {
    const key = {
      noticeId: job.data.noticeId,
      revision: job.data.revision,
      channel: channel.id,
      batch: job.data.batch,
    };
    const attempt = job.attemptsMade + 1;
    const lastAttempt = attempt >= (job.opts.attempts ?? 1);
    const log = logger.child({
      noticeId: key.noticeId,
      revision: key.revision,
      channel: channel.id,
      batch: key.batch,
      attempt,
    });

    const notice = await store.notices.get(key.noticeId);
    if (!notice) throw new UnrecoverableError(`notice ${key.noticeId} does not exist`);
    if (notice.currentRevision > key.revision) {
      const skipped = await store.deliveries.skipSuperseded(
        key.noticeId,
        notice.currentRevision,
        `superseded by revision ${notice.currentRevision}`,
      );
      log.info({ skipped }, 'batch superseded by a newer revision');
      return { sent: 0, failed: 0 };
    }
    const view = await viewOf(key.noticeId, key.revision);
    if (!view) throw new UnrecoverableError(`revision ${key.revision} of notice ${key.noticeId} does not exist`);

    const pending = await store.deliveries.pending(key);
    if (pending.length === 0) return { sent: 0, failed: 0 };

    // A public channel's one post, or a broadcast of a subscriber channel, has recipient '*'.
    const isPublic = pending.every((p) => p.recipient === '*');
    const gone = pending.filter((p) => !isPublic && p.address === null);
    await store.deliveries.markFinal(
      gone.map((p) => ({ id: p.id, reason: 'contact unsubscribed or removed before sending' })),
      'skipped',
    );
    const live = pending.filter((p) => isPublic || p.address !== null);
    if (live.length === 0) return { sent: 0, failed: 0 };
    await store.deliveries.countAttempt(live.map((p) => p.id));

    const byLocale = new Map<Locale, Recipient[]>();
    for (const p of live) {
      const recipient: Recipient = {
        deliveryId: p.id,
        contactId: p.contactId,
        address: isPublic ? '*' : (p.address as string),
        locale: p.locale,
        ...(p.contactId !== null ? { unsubscribeUrl: links.unsubscribe(p.contactId) } : {}),
        ...(p.subscriberId !== null ? { manageUrl: links.manage(p.subscriberId) } : {}),
      };
      const group = byLocale.get(p.locale);
      if (group) group.push(recipient);
      else byLocale.set(p.locale, [recipient]);
    }

    const replyTo = isPublic
      ? await store.deliveries.providerIdBefore(key.noticeId, key.revision, channel.id)
      : undefined;
    const recorder = createBatchOutcomes(writer);
    const deliveryKey = `${key.noticeId}-r${key.revision}-${channel.id}-${key.batch}`;
    const stopTimer = metrics.sendSeconds.startTimer({ channel: channel.id });
    try {
      for (const [locale, recipients] of byLocale) {
        const message = channel.render(view, locale);
        const results = await channel.send(message, recipients, {
          deliveryKey,
          attempt,
          signal: signal ?? new AbortController().signal,
          notice: view,
          ...(replyTo ? { replyTo } : {}),
          onResult: (r) => recorder.add(r),
        });
        for (const r of results) recorder.add(r);
      }
    } catch (err) {
      await recorder.flush();
      const bull = await toBullmqError(err, queue);
      // A rate limit uses no attempt, so even on the last one the batch goes back to wait.
      if (bull instanceof UnrecoverableError || (lastAttempt && !(bull instanceof RateLimitError))) {
        const failed = await store.deliveries.failRemaining(key, bull.message);
        metrics.deliveries.inc({ channel: channel.id, status: 'failed' }, failed);
        log.warn({ failed, reason: bull.message }, 'batch failed for good');
      } else {
        log.info({ reason: bull.message }, 'batch will be retried');
      }
      throw bull;
    } finally {
      stopTimer();
    }
    await recorder.flush();

    const { totals } = recorder;
    metrics.deliveries.inc({ channel: channel.id, status: 'sent' }, totals.sent);
    metrics.deliveries.inc({ channel: channel.id, status: 'failed' }, totals.failed);
    if (totals.retry > 0) {
      const reason = recorder.retries[0]?.reason ?? 'temporary failure';
      if (lastAttempt) {
        const failed = await store.deliveries.failRemaining(key, `gave up after ${attempt} attempts: ${reason}`);
        metrics.deliveries.inc({ channel: channel.id, status: 'failed' }, failed);
        log.warn({ failed, reason }, 'recipients still failing after the last attempt');
        return { sent: totals.sent, failed: totals.failed + failed };
      }
      const retryAfterMs = Math.max(0, ...recorder.retries.map((r) => r.retryAfterMs ?? 0)) || undefined;
      throw new RetryLaterError(`${totals.retry} of ${live.length} recipients to be retried: ${reason}`, retryAfterMs);
    }
    return { sent: totals.sent, failed: totals.failed };
  };
}

/** One worker per enabled channel, each on its own queue, so one slow provider never holds up another. */
export function createDeliverWorkers(deps: Deps): Worker<DeliverJobData>[] {
  return deps.channels.all().map(
    (channel) =>
      new Worker<DeliverJobData>(deliverQueueName(channel.id), createDeliverProcessor(deps, channel), {
        ...baseWorkerOptions(deps),
        concurrency: deps.config.delivery.concurrency,
      }),
  );
}
