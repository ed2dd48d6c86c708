import { type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { type Channel, ChannelError } from '../channels/types.ts';
import type { Deps } from '../src/deps.ts';
import type { NoticeView } from '../src/domain/notice.ts';
import { toNoticeView } from '../src/domain/notice-view.ts';
import { severityToPriority } from '../src/domain/severity.ts';
import { DISPATCH_QUEUE, type DispatchJobData } from '../src/queue/names.ts';
import type { DispatchState } from '../src/store/notices.ts';
import { pausingWhileStoreUnavailable } from './failure.ts';
import { baseWorkerOptions } from './worker-options.ts';

/** Contacts read per page: bounded memory whatever the size of the city. */
const PAGE_TARGET = 1_000;

/**
 * Resolves a notice revision's audience channel by channel, streaming contacts from the
 * store page by page, writes one queued delivery row per recipient, and adds one deliver
 * job per batch. Progress is saved after each page, so a dispatcher killed half-way
 * resumes where it stopped; rows and job ids are deterministic, so redoing a page adds
 * nothing twice.
 */
export interface DispatchOptions {
  /** Aborted when the process stops: the dispatch hands its job back after the page it is on. */
  stopping?: AbortSignal;
}

export function createDispatchProcessor(deps: Deps, options: DispatchOptions = {}) {
  const { store, queues, channels, logger, metrics } = deps;

  return async function dispatch(job: Job<DispatchJobData>, token?: string): Promise<{ rows: number }> {
    const { noticeId, revision: revisionNo } = job.data;
    const notice = await store.notices.get(noticeId);
    const revision = await store.notices.getRevision(noticeId, revisionNo);
    if (!notice || !revision) throw new UnrecoverableError(`notice ${noticeId} revision ${revisionNo} does not exist`);
    const log = logger.child({ noticeId, revision: revisionNo, job: job.id });

    if (notice.currentRevision > revisionNo) {
      // A correction or cancellation came before this revision went out: send only the newest.
      log.info({ current: notice.currentRevision }, 'revision superseded before dispatch; not sent');
      return { rows: 0 };
    }
    if (revisionNo > 1) {
      const skipped = await store.deliveries.skipSuperseded(
        noticeId,
        revisionNo,
        `superseded by revision ${revisionNo}`,
      );
      if (skipped > 0) log.info({ skipped }, 'queued deliveries of earlier revisions skipped');
    }

    const priority = severityToPriority(revision.severity);
    /** A channel's refusal of the whole revision, as the reason to record; anything else propagates. */
    const admission = async (channel: Channel, view: NoticeView, audience: number): Promise<string | undefined> => {
      if (!channel.admit) return undefined;
      try {
        await channel.admit(view, audience);
        return undefined;
      } catch (err) {
        if (err instanceof ChannelError && err.kind === 'permanent') return err.message;
        throw err;
      }
    };
    const state: DispatchState = await store.notices.dispatchState(noticeId, revisionNo);
    // Pages redone after a crash get new job ids, so a batch whose first job already ran is looked at again.
    const resumed = Object.keys(state).length > 0;
    const round = resumed ? Date.now() : 0;
    let rows = 0;

    const view = toNoticeView(
      revision,
      await store.notices.revisions(noticeId),
      deps.links,
      deps.config.city,
      deps.areas,
    );

    for (const channelId of revision.channels) {
      const channel = channels.get(channelId);
      if (!channel) {
        log.warn({ channel: channelId }, 'channel named by the notice is not enabled here; skipped');
        continue;
      }
      const progress = state[channelId] ?? { after: 0, nextBatch: 0, done: false };
      if (progress.done) continue;
      const fresh = progress.after === 0 && progress.nextBatch === 0;
      const criteria = {
        channel: channelId,
        topics: revision.topics,
        areas: revision.areas,
        ignoreTopics: revision.severity === 'emergency',
        severity: revision.severity,
      };
      const asOnePost = channel.audience === 'public' || channel.broadcast?.(view) === true;
      const refused = fresh
        ? await admission(channel, view, asOnePost ? 1 : await store.subscribers.countAudience(criteria))
        : undefined;
      if (refused)
        log.warn({ channel: channelId, reason: refused }, 'channel refused the revision; its deliveries fail');

      if (asOnePost) {
        await store.deliveries.insertQueued(
          [{ noticeId, revision: revisionNo, channel: channelId, recipient: '*', contactId: null, batch: 0 }],
          undefined,
          refused,
        );
        if (refused) metrics.deliveries.inc({ channel: channelId, status: 'failed' }, 1);
        if (!refused)
          await queues.enqueueDeliver(channelId, [0], { noticeId, revision: revisionNo }, { priority, round });
        rows += 1;
      } else {
        const pageSize = channel.maxBatch * Math.max(1, Math.floor(PAGE_TARGET / channel.maxBatch));
        for (;;) {
          if (options.stopping?.aborted && token) {
            // Every page so far is saved: the next worker resumes here, and no attempt is used.
            log.info(
              { channel: channelId, rows, after: progress.after },
              'stopping: dispatch handed back to the queue',
            );
            await job.moveToWait(token);
            throw new WaitingError();
          }
          const contactIds = await store.subscribers.audiencePage(criteria, progress.after, pageSize);
          if (contactIds.length === 0) break;
          const batchOf = (i: number) => progress.nextBatch + Math.floor(i / channel.maxBatch);
          await store.deliveries.insertQueued(
            contactIds.map((contactId, i) => ({
              noticeId,
              revision: revisionNo,
              channel: channelId,
              recipient: String(contactId),
              contactId,
              batch: batchOf(i),
            })),
            undefined,
            refused,
          );
          if (refused) metrics.deliveries.inc({ channel: channelId, status: 'failed' }, contactIds.length);
          const batchCount = Math.ceil(contactIds.length / channel.maxBatch);
          const batches = Array.from({ length: batchCount }, (_, i) => progress.nextBatch + i);
          if (!refused)
            await queues.enqueueDeliver(channelId, batches, { noticeId, revision: revisionNo }, { priority, round });
          progress.after = contactIds[contactIds.length - 1] ?? progress.after;
          progress.nextBatch += batchCount;
          rows += contactIds.length;
          state[channelId] = progress;
          await store.notices.saveDispatchState(noticeId, revisionNo, state);
          await job.updateProgress({ channel: channelId, rows });
          if (contactIds.length < pageSize) break;
        }
      }
      progress.done = true;
      state[channelId] = progress;
      await store.notices.saveDispatchState(noticeId, revisionNo, state);
    }

    await store.notices.saveDispatchState(noticeId, revisionNo, state, true);
    if (revision.kind !== 'cancel') await store.notices.setStatus(noticeId, 'dispatched');
    log.info({ rows }, 'notice dispatched');
    return { rows };
  };
}

export function createDispatchWorker(deps: Deps, options: DispatchOptions = {}): Worker<DispatchJobData> {
  return new Worker<DispatchJobData>(
    DISPATCH_QUEUE,
    pausingWhileStoreUnavailable(createDispatchProcessor(deps, options), deps.queues.dispatch),
    {
      ...baseWorkerOptions(deps),
      // Two dispatches at once, so an emergency is not held behind a large routine fan-out.
      concurrency: 2,
    },
  );
}
