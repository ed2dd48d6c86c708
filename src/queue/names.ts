import type { ChannelId } from '../domain/notice.ts';

/** The one dispatch queue: a job per notice revision. */
export const DISPATCH_QUEUE = 'dispatch';

/** One delivery queue per channel, because BullMQ rate limits are per queue: a 429 from X must not stall mail. */
export function deliverQueueName(channel: ChannelId): string {
  return `deliver-${channel}`;
}

/** BullMQ rejects ':' in job ids, and ids that look like integers: ours always start with a letter. */
export function dispatchJobId(noticeId: string, revision: number): string {
  return `dispatch-${noticeId}-r${revision}`;
}

export function deliverJobId(noticeId: string, revision: number, channel: ChannelId, batch: number, round = 0): string {
  const base = `d-${noticeId}-r${revision}-${channel}-${batch}`;
  // A staff retry of failed deliveries is a new round, so it is not taken for the finished job.
  return round === 0 ? base : `${base}-retry${round}`;
}

export interface DispatchJobData {
  noticeId: string;
  revision: number;
}

export interface DeliverJobData {
  noticeId: string;
  revision: number;
  channel: ChannelId;
  batch: number;
}
