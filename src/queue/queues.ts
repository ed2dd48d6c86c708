import { type ConnectionOptions, type JobsOptions, Queue } from 'bullmq';
import type { ChannelId } from '../domain/notice.ts';
import { laneOfPriority } from '../domain/severity.ts';
import {
  type DeliverJobData,
  type DeliverLane,
  DISPATCH_QUEUE,
  type DispatchJobData,
  deliverJobId,
  deliverQueueName,
  dispatchJobId,
} from './names.ts';

/**
 * How long adding a dispatch job may wait for Redis. ioredis holds commands while it
 * reconnects (so a worker rides out a Redis restart); a staff request should not hang as
 * long: after this it is told the notice is saved but not yet queued. The held command
 * still reaches Redis when it is back, and the lost-job sweeper queues any dispatch that
 * never arrived (the job id is deterministic, so nothing is added twice).
 */
export const ENQUEUE_TIMEOUT_MS = 5_000;

export class EnqueueTimeoutError extends Error {
  override name = 'EnqueueTimeoutError';
}

async function withinTimeout<T>(what: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // Settles later, unseen, when Redis answers after all.
  what.catch(() => undefined);
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EnqueueTimeoutError(message)), ms);
  });
  try {
    return await Promise.race([what, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface QueueSettings {
  connection: ConnectionOptions;
  prefix: string;
  attempts: number;
  /** Default ENQUEUE_TIMEOUT_MS. */
  enqueueTimeoutMs?: number;
  /**
   * Told of a queue's connection errors. Default: nothing, since the connection's owner
   * logs them already; without a listener BullMQ would print each one raw to stderr,
   * outside the JSON log, every time it retries while Redis is away.
   */
  onError?: (err: Error) => void;
}

/** The producer side of every queue, shared by the API (dispatch) and the dispatch worker (deliver). */
export interface Queues {
  dispatch: Queue<DispatchJobData>;
  /** A channel's delivery queue on one lane (routine unless said). */
  deliver(channel: ChannelId, lane?: DeliverLane): Queue<DeliverJobData>;
  enqueueDispatch(data: DispatchJobData, opts: { priority: number; delayMs?: number }): Promise<void>;
  enqueueDeliver(
    channel: ChannelId,
    batches: number[],
    data: Omit<DeliverJobData, 'batch' | 'channel'>,
    opts: { priority: number; round?: number },
  ): Promise<void>;
  /**
   * Starts a revision's dispatch job again when it failed for good: 'retried'; 'present' when
   * a job exists and has not failed (left alone); 'absent' when none ever reached the queue.
   */
  retryFailedDispatch(noticeId: string, revision: number): Promise<'retried' | 'present' | 'absent'>;
  /**
   * Withdraws a scheduled dispatch that has not started: true when nothing will run (no job,
   * or its delayed job removed); false when the job is running or done, so it cannot be stopped.
   */
  cancelScheduledDispatch(noticeId: string, revision: number): Promise<boolean>;
  all(): Queue[];
  close(): Promise<void>;
}

export function createQueues(settings: QueueSettings): Queues {
  const base = { connection: settings.connection, prefix: settings.prefix };
  // Finished jobs are dropped from Redis: the delivery rows in the store are the record.
  const keep: JobsOptions = { removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } };
  const onError = settings.onError ?? (() => undefined);
  const dispatch = new Queue<DispatchJobData>(DISPATCH_QUEUE, base);
  dispatch.on('error', onError);
  const deliverQueues = new Map<string, Queue<DeliverJobData>>();

  const deliver = (channel: ChannelId, lane: DeliverLane = 'routine') => {
    const name = deliverQueueName(channel, lane);
    let q = deliverQueues.get(name);
    if (!q) {
      q = new Queue<DeliverJobData>(name, base);
      q.on('error', onError);
      deliverQueues.set(name, q);
    }
    return q;
  };

  return {
    dispatch,
    deliver,
    async enqueueDispatch(data, opts) {
      const added = dispatch.add('dispatch', data, {
        ...keep,
        jobId: dispatchJobId(data.noticeId, data.revision),
        priority: opts.priority,
        delay: opts.delayMs && opts.delayMs > 0 ? opts.delayMs : undefined,
        attempts: settings.attempts,
        backoff: { type: 'hibiki' },
      });
      await withinTimeout(
        added,
        settings.enqueueTimeoutMs ?? ENQUEUE_TIMEOUT_MS,
        `Redis did not take the dispatch job within ${settings.enqueueTimeoutMs ?? ENQUEUE_TIMEOUT_MS} ms`,
      );
    },
    async enqueueDeliver(channel, batches, data, opts) {
      if (batches.length === 0) return;
      await deliver(channel, laneOfPriority(opts.priority)).addBulk(
        batches.map((batch) => ({
          name: channel,
          data: { ...data, channel, batch },
          opts: {
            ...keep,
            jobId: deliverJobId(data.noticeId, data.revision, channel, batch, opts.round ?? 0),
            priority: opts.priority,
            attempts: settings.attempts,
            backoff: { type: 'hibiki' },
          },
        })),
      );
    },
    async retryFailedDispatch(noticeId, revision) {
      const job = await dispatch.getJob(dispatchJobId(noticeId, revision));
      if (!job) return 'absent';
      if (!(await job.isFailed())) return 'present';
      await job.retry();
      return 'retried';
    },
    async cancelScheduledDispatch(noticeId, revision) {
      const job = await dispatch.getJob(dispatchJobId(noticeId, revision));
      if (!job) return true;
      if (!(await job.isDelayed())) return false;
      // A job that started meanwhile cannot be removed.
      return job.remove().then(
        () => true,
        () => false,
      );
    },
    all: () => [dispatch, ...deliverQueues.values()],
    async close() {
      await Promise.all([dispatch, ...deliverQueues.values()].map((q) => q.close()));
    },
  };
}
