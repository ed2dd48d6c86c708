import { type ConnectionOptions, type JobsOptions, Queue } from 'bullmq';
import type { ChannelId } from '../domain/notice.ts';
import {
  type DeliverJobData,
  DISPATCH_QUEUE,
  type DispatchJobData,
  deliverJobId,
  deliverQueueName,
  dispatchJobId,
} from './names.ts';

export interface QueueSettings {
  connection: ConnectionOptions;
  prefix: string;
  attempts: number;
}

/** The producer side of every queue, shared by the API (dispatch) and the dispatch worker (deliver). */
export interface Queues {
  dispatch: Queue<DispatchJobData>;
  deliver(channel: ChannelId): Queue<DeliverJobData>;
  enqueueDispatch(data: DispatchJobData, opts: { priority: number; delayMs?: number }): Promise<void>;
  enqueueDeliver(
    channel: ChannelId,
    batches: number[],
    data: Omit<DeliverJobData, 'batch' | 'channel'>,
    opts: { priority: number; round?: number },
  ): Promise<void>;
  all(): Queue[];
  close(): Promise<void>;
}

export function createQueues(settings: QueueSettings): Queues {
  const base = { connection: settings.connection, prefix: settings.prefix };
  // Finished jobs are dropped from Redis: the delivery rows in the store are the record.
  const keep: JobsOptions = { removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } };
  const dispatch = new Queue<DispatchJobData>(DISPATCH_QUEUE, base);
  const deliverQueues = new Map<ChannelId, Queue<DeliverJobData>>();

  const deliver = (channel: ChannelId) => {
    let q = deliverQueues.get(channel);
    if (!q) {
      q = new Queue<DeliverJobData>(deliverQueueName(channel), base);
      deliverQueues.set(channel, q);
    }
    return q;
  };

  return {
    dispatch,
    deliver,
    async enqueueDispatch(data, opts) {
      await dispatch.add('dispatch', data, {
        ...keep,
        jobId: dispatchJobId(data.noticeId, data.revision),
        priority: opts.priority,
        delay: opts.delayMs && opts.delayMs > 0 ? opts.delayMs : undefined,
        attempts: settings.attempts,
        backoff: { type: 'hibiki' },
      });
    },
    async enqueueDeliver(channel, batches, data, opts) {
      if (batches.length === 0) return;
      await deliver(channel).addBulk(
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
    all: () => [dispatch, ...deliverQueues.values()],
    async close() {
      await Promise.all([dispatch, ...deliverQueues.values()].map((q) => q.close()));
    },
  };
}
