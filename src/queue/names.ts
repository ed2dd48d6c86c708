import type { ChannelId } from '../domain/notice.ts';

/** The one dispatch queue: a job per notice revision. */
export const DISPATCH_QUEUE = 'dispatch';

/**
 * Each channel has two delivery queues, because BullMQ rate limits are per queue (a 429
 * from X must not stall mail) and because a worker's slots are taken in turn: on one
 * queue an evacuation order's first batch waited for a routine batch to finish (1–3 s of
 * mail). Alerts go on the urgent lane, whose workers hold no routine batch.
 */
export type DeliverLane = 'urgent' | 'routine';
export const DELIVER_LANES: readonly DeliverLane[] = ['urgent', 'routine'];

export function deliverQueueName(channel: ChannelId, lane: DeliverLane = 'routine'): string {
  return lane === 'routine' ? `deliver-${channel}` : `deliver-${channel}-urgent`;
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
  /**
   * Set (ms since the epoch) when the batch first waited for its recipients' own providers
   * (webhook receivers, push services) to answer again: DELIVERY_GIVE_UP_AFTER counts from it.
   */
  heldSince?: number;
}
