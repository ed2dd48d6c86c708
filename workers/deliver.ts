import { DelayedError, type Job, RateLimitError, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Channel, Recipient } from '../channels/types.ts';
import type { Deps } from '../src/deps.ts';
import type { Locale, NoticeView } from '../src/domain/notice.ts';
import { toNoticeView } from '../src/domain/notice-view.ts';
import type { Logger } from '../src/logger.ts';
import { DELIVER_LANES, type DeliverJobData, type DeliverLane, deliverQueueName } from '../src/queue/names.ts';
import type { BatchKey } from '../src/store/deliveries.ts';
import { lockBatch } from './batch-lock.ts';
import { pausingWhileStoreUnavailable, RetryLaterError } from './failure.ts';
import { createLaneGate, type LaneGate } from './lane-gate.ts';
import { createProviderOutage } from './provider-outage.ts';
import { createBatchOutcomes, createOutcomeWriter } from './result-recorder.ts';
import { classifyFailure, decideRetry, type RetryDecision, type RetryInput, retrySettings } from './retry-policy.ts';
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

/** The log line of each way a batch is failed for good. */
const FAILED_FOR_GOOD: Record<Extract<RetryDecision, { action: 'fail' }>['cause'], string> = {
  permanent: 'batch failed for good',
  'provider-down': 'batch failed for good: its provider stayed down',
  'receivers-down': 'recipients failed for good: their providers stayed down',
  attempts: 'recipients still failing after the last attempt',
};

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
  const settings = retrySettings(deps.config);

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
      const failure = classifyFailure(err);
      const now = new Date();
      if (failure.kind === 'provider-down') {
        // Nobody's fault among the recipients: what is left of the batch gets its attempt back.
        await store.deliveries.refundAttempt(live.map((p) => p.id));
        failure.since = await outage.failed(failure.message, now);
      }
      const decision = decideRetry(
        { ...facts(job, view, now.getTime(), undefined), outcome: { kind: 'threw', failure } },
        settings,
      );
      switch (decision.action) {
        case 'pause-queue':
          if (decision.cause === 'provider-down' && failure.kind === 'provider-down' && failure.since) {
            outage.held(failure.since, decision.waitMs, failure.message, now);
          } else log.info({ reason: failure.message }, 'batch will be retried');
          // The whole channel queue waits, in every worker process (the limit is a Redis key);
          // this job goes back to wait without using an attempt, and is the next probe.
          await queue.rateLimit(decision.waitMs);
          throw new RateLimitError();
        case 'fail':
          await failRest(key, decision, log, 'batch failed for good');
          // The last attempt's own error fails the job as it is; a refusal for good ends it at once.
          throw decision.cause === 'attempts' ? err : new UnrecoverableError(decision.reason);
        default:
          log.info({ reason: failure.message }, 'batch will be retried');
          throw err;
      }
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
    const now = Date.now();
    const decision = decideRetry(
      {
        ...facts(job, view, now, token),
        batchSize: live.length,
        outcome: { kind: 'answered', retries: recorder.retries },
      },
      settings,
    );
    switch (decision.action) {
      case 'done':
        return { sent: totals.sent, failed: totals.failed };
      case 'fail':
        return { sent: totals.sent, failed: totals.failed + (await failRest(key, decision, log)) };
      case 'wait':
        if (decision.cause === 'receivers-down') {
          await store.deliveries.refundAttempt(recorder.retries.map((r) => r.deliveryId));
          if (job.data.heldSince === undefined) await job.updateData({ ...job.data, heldSince: decision.heldSince });
        }
        // canDelay was given only with a token.
        await job.moveToDelayed(now + decision.waitMs, token as string);
        log.info(
          { retry: totals.retry, waitMs: decision.waitMs, reason: recorder.retries[0]?.reason },
          decision.cause === 'receivers-down'
            ? 'batch waits for its receivers to answer again'
            : 'batch waits out a provider rate limit',
        );
        throw new DelayedError();
      case 'retry':
        throw new RetryLaterError(decision.reason, decision.retryAfterMs);
      case 'pause-queue':
        // Not decided for answered sends; carried out as a thrown rate limit would be.
        await queue.rateLimit(decision.waitMs);
        throw new RateLimitError();
    }
  }

  /** What the policy reads of a job, besides what happened. */
  function facts(
    job: Job<DeliverJobData>,
    view: NoticeView,
    now: number,
    token: string | undefined,
  ): Omit<RetryInput, 'outcome'> {
    return {
      attempt: job.attemptsMade + 1,
      attempts: job.opts.attempts ?? 1,
      queuedAt: job.timestamp,
      heldSince: job.data.heldSince,
      expiresAt: view.expiresAt,
      channel: channel.id,
      canDelay: token !== undefined,
      now,
    };
  }

  /** Fails for good what is still queued of the batch; the count failed. */
  async function failRest(
    key: BatchKey,
    decision: Extract<RetryDecision, { action: 'fail' }>,
    log: Logger,
    thrown?: 'batch failed for good',
  ) {
    const failed = await store.deliveries.failRemaining(key, decision.reason);
    metrics.deliveries.inc({ channel: channel.id, status: 'failed' }, failed);
    // A run that threw on its last attempt reads as a batch that failed, not as recipients still failing.
    const line = thrown && decision.cause === 'attempts' ? thrown : FAILED_FOR_GOOD[decision.cause];
    log.warn({ failed, reason: decision.reason }, line);
    return failed;
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
            retrySettings(deps.config),
          ),
          {
            ...baseWorkerOptions(deps),
            concurrency: deps.config.delivery.concurrency,
            // BullMQ honours queue.rateLimit() (retry-policy.ts: a provider's 429, an outage) only on a queue whose
            // workers have a limiter: without one a rate-limited batch is taken again at once.
            // This limiter never limits by count.
            limiter: { max: Number.MAX_SAFE_INTEGER, duration: 1_000 },
          },
        ),
    );
  });
}
