import { type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { type Channel, ChannelError } from '../channels/types.ts';
import type { Deps } from '../src/deps.ts';
import type { ChannelId, NoticeView } from '../src/domain/notice.ts';
import { toNoticeView } from '../src/domain/notice-view.ts';
import { severityToPriority } from '../src/domain/severity.ts';
import { DISPATCH_QUEUE, type DispatchJobData } from '../src/queue/names.ts';
import type { DispatchState } from '../src/store/notices.ts';
import type { AudienceCriteria } from '../src/store/subscribers.ts';
import { pausingWhileStoreUnavailable } from './failure.ts';
import { retrySettings } from './retry-policy.ts';
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

    /** A subscriber channel still to page through: its audience, its progress, its refusal. */
    interface Paging {
      channelId: ChannelId;
      channel: Channel;
      criteria: AudienceCriteria;
      progress: { after: number; nextBatch: number; done: boolean };
      refused: string | undefined;
      pageSize: number;
    }
    const paging: Paging[] = [];

    // One-post channels (CAP, X, a LINE broadcast) first: a single row and job each.
    for (const channelId of revision.channels) {
      const channel = channels.get(channelId);
      if (!channel) {
        log.warn({ channel: channelId }, 'channel named by the notice is not enabled here; skipped');
        continue;
      }
      const progress = state[channelId] ?? { after: 0, nextBatch: 0, done: false };
      if (progress.done) continue;
      const fresh = progress.after === 0 && progress.nextBatch === 0;
      const criteria: AudienceCriteria = {
        channel: channelId,
        topics: revision.topics,
        areas: revision.areas,
        ignoreTopics: revision.severity === 'emergency',
        severity: revision.severity,
      };
      const asOnePost = channel.audience === 'public' || channel.broadcast?.(view) === true;
      if (!asOnePost) {
        // Counting the audience costs a scan of it: only for a channel that asks (LINE's quota).
        const refused =
          fresh && channel.admit
            ? await admission(channel, view, await store.subscribers.countAudience(criteria))
            : undefined;
        if (refused)
          log.warn({ channel: channelId, reason: refused }, 'channel refused the revision; its deliveries fail');
        const pageSize = channel.maxBatch * Math.max(1, Math.floor(PAGE_TARGET / channel.maxBatch));
        paging.push({ channelId, channel, criteria, progress, refused, pageSize });
        continue;
      }
      const refused = fresh ? await admission(channel, view, 1) : undefined;
      if (refused)
        log.warn({ channel: channelId, reason: refused }, 'channel refused the revision; its deliveries fail');
      await store.deliveries.insertQueued(
        [{ noticeId, revision: revisionNo, channel: channelId, recipient: '*', contactId: null, batch: 0 }],
        undefined,
        refused,
      );
      if (refused) metrics.deliveries.inc({ channel: channelId, status: 'failed' }, 1);
      if (!refused)
        await queues.enqueueDeliver(channelId, [0], { noticeId, revision: revisionNo }, { priority, round });
      rows += 1;
      progress.done = true;
      state[channelId] = progress;
      await store.notices.saveDispatchState(noticeId, revisionNo, state);
    }

    /** Queues the next page of a channel's audience; true when the channel has no more. */
    const nextPage = async ({ channelId, channel, criteria, progress, refused, pageSize }: Paging) => {
      const contactIds = await store.subscribers.audiencePage(criteria, progress.after, pageSize);
      if (contactIds.length > 0) {
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
      }
      progress.done = contactIds.length < pageSize;
      state[channelId] = progress;
      await store.notices.saveDispatchState(noticeId, revisionNo, state);
      await job.updateProgress({ channel: channelId, rows });
      return progress.done;
    };

    // Then a page of each subscriber channel in turn: every channel's first batches are
    // queued within milliseconds, instead of push waiting for all of LINE's 50,000 rows.
    let open = paging;
    while (open.length > 0) {
      const still: Paging[] = [];
      for (const item of open) {
        if (options.stopping?.aborted && token) {
          // Every page so far is saved: the next worker resumes here, and no attempt is used.
          log.info(
            { channel: item.channelId, rows, after: item.progress.after },
            'stopping: dispatch handed back to the queue',
          );
          await job.moveToWait(token);
          throw new WaitingError();
        }
        if (!(await nextPage(item))) still.push(item);
      }
      open = still;
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
    pausingWhileStoreUnavailable(
      createDispatchProcessor(deps, options),
      deps.queues.dispatch,
      retrySettings(deps.config),
    ),
    {
      ...baseWorkerOptions(deps),
      // Two dispatches at once, so an emergency is not held behind a large routine fan-out.
      concurrency: 2,
    },
  );
}
