import { DelayedError, type Job, RateLimitError, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { type Channel, ChannelError, type Recipient } from '../channels/types.ts';
import type { Deps } from '../src/deps.ts';
import type { Locale, NoticeView } from '../src/domain/notice.ts';
import { toNoticeView } from '../src/domain/notice-view.ts';
import type { Logger } from '../src/logger.ts';
import { DELIVER_LANES, type DeliverJobData, type DeliverLane, deliverQueueName } from '../src/queue/names.ts';
import type { BatchKey } from '../src/store/deliveries.ts';
import { lockBatch } from './batch-lock.ts';
import { pausingWhileStoreUnavailable, RetryLaterError, toBullmqError } from './failure.ts';
import { createLaneGate, type LaneGate } from './lane-gate.ts';
import { createProviderOutage, decideHold, outageSettings } from './provider-outage.ts';
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
export interface DeliverOptions {
  /** Aborted when the process stops: a batch taken after that goes back to the queue unsent. */
  stopping?: AbortSignal;
}

/** Who was down when a batch's own receivers were: for the reason a person reads. */
const RECIPIENT_PROVIDER = {
  ja: 'この配信先（受信サーバー・プッシュサービス）',
  en: "this recipient's receiver or push service",
};

/** How long a batch may wait out providers' rate limits without spending its attempts. */
const RATE_LIMIT_PATIENCE_MS = 60 * 60 * 1000;

export function createDeliverProcessor(
  deps: Deps,
  channel: Channel,
  options: DeliverOptions = {},
  lane: DeliverLane = 'routine',
  gate: LaneGate = createLaneGate(),
) {
  const { store, logger, metrics, links } = deps;
  const viewOf = createViewCache(deps);
  const queue = deps.queues.deliver(channel.id, lane);
  const writer = createOutcomeWriter(store.deliveries, store.subscribers);
  const outage = createProviderOutage(deps, channel.id);

  async function deliver(
    job: Job<DeliverJobData>,
    token?: string,
    signal?: AbortSignal,
  ): Promise<{ sent: number; failed: number }> {
    if (options.stopping?.aborted && token) {
      // BullMQ can hand a worker that is closing one last job (one that arrived as it
      // closed): give it back untouched, so a stopping process begins no new batch.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const key = {
      noticeId: job.data.noticeId,
      revision: job.data.revision,
      channel: channel.id,
      batch: job.data.batch,
    };
    const attempt = job.attemptsMade + 1;
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

    const deliveryKey = `${key.noticeId}-r${key.revision}-${channel.id}-${key.batch}`;
    const lock = await lockBatch(
      deps.redis,
      `${deps.config.queuePrefix}:batch-lock:${deliveryKey}`,
      `${job.id}:${token ?? ''}`,
      deps.config.delivery.stalledIntervalMs,
    );
    if ('busyForMs' in lock) {
      // Another run holds the batch: look again once it is done (or its lock has run out), using no attempt.
      log.info({ busyForMs: lock.busyForMs }, 'batch held by another run; looking again later');
      if (!token) throw new RetryLaterError('batch held by another run', lock.busyForMs);
      await job.moveToDelayed(Date.now() + lock.busyForMs, token);
      throw new DelayedError();
    }
    try {
      return await sendBatch(
        job,
        token,
        key,
        view,
        deliveryKey,
        log,
        AbortSignal.any([signal ?? new AbortController().signal, lock.held.lost]),
      );
    } finally {
      await lock.held.release();
    }
  }

  async function sendBatch(
    job: Job<DeliverJobData>,
    token: string | undefined,
    key: BatchKey,
    view: NoticeView,
    deliveryKey: string,
    log: Logger,
    signal: AbortSignal,
  ): Promise<{ sent: number; failed: number }> {
    const attempt = job.attemptsMade + 1;
    const lastAttempt = attempt >= (job.opts.attempts ?? 1);
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
        ...(channel.personalLinks && p.contactId !== null ? { unsubscribeUrl: links.unsubscribe(p.contactId) } : {}),
        ...(channel.personalLinks && p.subscriberId !== null
          ? { manageUrl: links.manage(p.subscriberId, p.manageNonce) }
          : {}),
      };
      const group = byLocale.get(p.locale);
      if (group) group.push(recipient);
      else byLocale.set(p.locale, [recipient]);
    }

    const replyTo = isPublic
      ? await store.deliveries.providerIdBefore(key.noticeId, key.revision, channel.id)
      : undefined;
    // Outcomes that cannot be written stop the batch: every further send would go out
    // unrecorded and be sent again by the retry.
    const halt = new AbortController();
    const recorder = createBatchOutcomes(writer, () => halt.abort());
    const stopTimer = metrics.sendSeconds.startTimer({ channel: channel.id });
    const alertEnded = lane === 'urgent' ? gate.alertSending() : undefined;
    try {
      for (const [locale, recipients] of byLocale) {
        const message = channel.render(view, locale);
        const results = await channel.send(message, recipients, {
          deliveryKey,
          attempt,
          signal: AbortSignal.any([signal, halt.signal]),
          notice: view,
          ...(lane === 'routine' ? { waitTurn: gate.waitTurn } : {}),
          ...(replyTo ? { replyTo } : {}),
          onResult: (r) => recorder.add(r),
        });
        for (const r of results) recorder.add(r);
      }
    } catch (err) {
      await recorder.flush();
      if (err instanceof ChannelError && err.kind === 'provider-down') {
        // Nobody's fault among the recipients: what is left of the batch gets its attempt back.
        await store.deliveries.refundAttempt(live.map((p) => p.id));
        const decision = await outage.failed(
          { queuedAt: job.timestamp, expiresAt: view.expiresAt, retryAfterMs: err.retryAfterMs },
          err.message,
        );
        if (!decision.hold) {
          const failed = await store.deliveries.failRemaining(key, decision.reason);
          metrics.deliveries.inc({ channel: channel.id, status: 'failed' }, failed);
          log.warn({ failed, reason: decision.reason }, 'batch failed for good: its provider stayed down');
          throw new UnrecoverableError(decision.reason);
        }
        // The whole channel queue waits, in every worker process (the limit is a Redis key);
        // this job goes back to wait without using an attempt, and is the next probe.
        await queue.rateLimit(decision.waitMs);
        throw new RateLimitError();
      }
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
      alertEnded?.();
      stopTimer();
    }
    await recorder.flush();
    // The provider answered (whatever it said of each recipient): an outage, if any, is over.
    await outage.answered().catch((err: unknown) => {
      // Bookkeeping only: the outcomes are recorded; the next batch clears it instead.
      log.warn({ err: { message: (err as Error).message } }, 'could not clear the channel-down state');
    });

    const { totals } = recorder;
    metrics.deliveries.inc({ channel: channel.id, status: 'sent' }, totals.sent);
    metrics.deliveries.inc({ channel: channel.id, status: 'failed' }, totals.failed);
    if (totals.retry > 0) {
      const reason = recorder.retries[0]?.reason ?? 'temporary failure';
      const retryAfterMs = Math.max(0, ...recorder.retries.map((r) => r.retryAfterMs ?? 0)) || undefined;
      // Every recipient left is waiting on a provider of its own that is down (a webhook
      // receiver, a push service), or on a rate limit: no fault of theirs, so the batch waits,
      // spending no attempt, probing at growing intervals, until its notice expires or
      // DELIVERY_GIVE_UP_AFTER. The channel itself is not down: other receivers are fine.
      if (
        token &&
        recorder.retries.some((r) => r.unreachable) &&
        recorder.retries.every((r) => r.unreachable || r.rateLimited)
      ) {
        const now = Date.now();
        const heldSince = job.data.heldSince ?? now;
        const decision = decideHold(
          { since: new Date(heldSince), heldSince, expiresAt: view.expiresAt, retryAfterMs, lastError: reason },
          RECIPIENT_PROVIDER,
          outageSettings(deps.config),
          new Date(now),
        );
        if (!decision.hold) {
          const failed = await store.deliveries.failRemaining(key, decision.reason);
          metrics.deliveries.inc({ channel: channel.id, status: 'failed' }, failed);
          log.warn({ failed, reason: decision.reason }, 'recipients failed for good: their providers stayed down');
          return { sent: totals.sent, failed: totals.failed + failed };
        }
        await store.deliveries.refundAttempt(recorder.retries.map((r) => r.deliveryId));
        if (job.data.heldSince === undefined) await job.updateData({ ...job.data, heldSince });
        await job.moveToDelayed(now + decision.waitMs, token);
        log.info(
          { retry: totals.retry, waitMs: decision.waitMs, reason },
          'batch waits for its receivers to answer again',
        );
        throw new DelayedError();
      }
      // Every recipient left was refused by a provider's rate limit (429): wait it out without
      // using an attempt, as a rate-limited channel does (failure.ts), but for this batch only,
      // so one busy receiver or push service does not hold up the rest of the channel. Not for
      // ever: a receiver that answers 429 for longer than RATE_LIMIT_PATIENCE_MS spends attempts.
      const patient = Date.now() - job.timestamp < RATE_LIMIT_PATIENCE_MS;
      if (token && patient && recorder.retries.every((r) => r.rateLimited)) {
        const waitMs = retryAfterMs ?? deps.config.delivery.retryBaseMs;
        await job.moveToDelayed(Date.now() + waitMs, token);
        log.info({ retry: totals.retry, waitMs, reason }, 'batch waits out a provider rate limit');
        throw new DelayedError();
      }
      if (lastAttempt) {
        const failed = await store.deliveries.failRemaining(key, `gave up after ${attempt} attempts: ${reason}`);
        metrics.deliveries.inc({ channel: channel.id, status: 'failed' }, failed);
        log.warn({ failed, reason }, 'recipients still failing after the last attempt');
        return { sent: totals.sent, failed: totals.failed + failed };
      }
      throw new RetryLaterError(`${totals.retry} of ${live.length} recipients to be retried: ${reason}`, retryAfterMs);
    }
    return { sent: totals.sent, failed: totals.failed };
  }

  return deliver;
}

/**
 * Two workers per enabled channel, one per lane, each on its own queue: one slow provider
 * never holds up another, and an alert never waits for a routine batch to give up a slot.
 */
export function createDeliverWorkers(deps: Deps, options: DeliverOptions = {}): Worker<DeliverJobData>[] {
  return deps.channels.all().flatMap((channel) => {
    const gate = createLaneGate();
    return DELIVER_LANES.map(
      (lane) =>
        new Worker<DeliverJobData>(
          deliverQueueName(channel.id, lane),
          pausingWhileStoreUnavailable(
            createDeliverProcessor(deps, channel, options, lane, gate),
            deps.queues.deliver(channel.id, lane),
          ),
          {
            ...baseWorkerOptions(deps),
            concurrency: deps.config.delivery.concurrency,
            // BullMQ honours queue.rateLimit() (failure.ts, a provider's 429) only on a queue whose
            // workers have a limiter: without one a rate-limited batch is taken again at once.
            // This limiter never limits by count.
            limiter: { max: Number.MAX_SAFE_INTEGER, duration: 1_000 },
          },
        ),
    );
  });
}
