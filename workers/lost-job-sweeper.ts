import { randomBytes } from 'node:crypto';
import type { Deps } from '../src/deps.ts';
import type { ChannelId } from '../src/domain/notice.ts';
import { severityToPriority } from '../src/domain/severity.ts';
import { DELIVER_LANES, deliverJobId, dispatchJobId } from '../src/queue/names.ts';
import { isStoreUnavailable } from '../src/store/store-errors.ts';

/** Job states in which a job will still run: anything else (finished, or no job at all) runs nothing. */
const LIVE: ['active', 'wait', 'prioritized', 'delayed', 'waiting-children'] = [
  'active',
  'wait',
  'prioritized',
  'delayed',
  'waiting-children',
];

/** How far back a sweep looks for dispatched revisions with rows still queued. */
export const SWEEP_LOOKBACK_MS = 24 * 60 * 60_000;

export interface SweepSettings {
  /** Time between sweeps. */
  intervalMs: number;
  /** Work untouched for this long, and with no live job, counts as lost. */
  idleMs: number;
  lookbackMs: number;
}

export interface SweepResult {
  dispatches: number;
  batches: number;
}

export type SweeperDeps = Pick<Deps, 'store' | 'queues' | 'redis' | 'config' | 'logger'>;

/**
 * The sweep cadence follows STALLED_INTERVAL_MS, the time Hibiki already allows a job to
 * be silent before taking it up again: a lost job is found within 2–3 such intervals.
 */
export function sweepSettings(config: SweeperDeps['config']): SweepSettings {
  const stalled = config.delivery.stalledIntervalMs;
  return { intervalMs: stalled, idleMs: 2 * stalled, lookbackMs: SWEEP_LOOKBACK_MS };
}

/** A deliver job id without its round: the same for every job of one batch. */
const batchOfJobId = (id: string) => id.replace(/-retry\d+$/, '');

/**
 * Finds the work the store says is unfinished but no job in Redis will do, and queues it
 * again. Redis with AOF fsynced every second can lose the last second of writes to a
 * power cut: the jobs added in it (a dispatch, deliver batches) are gone while the notice
 * and its queued rows are in the store. Re-adding is safe: a dispatch job id is
 * deterministic (BullMQ adds nothing if one exists), and a deliver job sends only the
 * rows still queued.
 */
export async function sweepLostJobs(
  deps: SweeperDeps,
  settings: SweepSettings,
  now = new Date(),
): Promise<SweepResult> {
  const work = deps.store.unfinishedWork;
  const before = new Date(now.getTime() - settings.idleMs);
  const result: SweepResult = { dispatches: 0, batches: 0 };

  for (const r of await work.undispatched(before)) {
    const state = await deps.queues.dispatch.getJobState(dispatchJobId(r.noticeId, r.revision));
    // A failed dispatch is for staff to retry (POST /v1/notices/:id/retry); only a missing one was lost.
    if (state !== 'unknown') continue;
    const delayMs = r.scheduledAt ? r.scheduledAt.getTime() - now.getTime() : 0;
    await deps.queues.enqueueDispatch(
      { noticeId: r.noticeId, revision: r.revision },
      { priority: severityToPriority(r.severity), delayMs },
    );
    deps.logger.warn(
      { noticeId: r.noticeId, revision: r.revision },
      'dispatch job was missing from Redis; queued again',
    );
    result.dispatches++;
  }

  const idle = await work.idleBatches(new Date(now.getTime() - settings.lookbackMs), before);
  if (idle.length === 0) return result;
  // Read after the store, so a batch whose job finished in between is only looked at again, never missed.
  const live = new Map<ChannelId, Set<string>>();
  const liveIn = async (channel: ChannelId) => {
    let ids = live.get(channel);
    if (!ids) {
      const lanes = await Promise.all(
        DELIVER_LANES.map((lane) => deps.queues.deliver(channel, lane).getRanges(LIVE, 0, -1)),
      );
      ids = new Set(lanes.flat().map(batchOfJobId));
      live.set(channel, ids);
    }
    return ids;
  };
  const lost = new Map<
    string,
    { channel: ChannelId; noticeId: string; revision: number; priority: number; batches: number[] }
  >();
  for (const b of idle) {
    if ((await liveIn(b.channel)).has(deliverJobId(b.noticeId, b.revision, b.channel, b.batch))) continue;
    const key = `${b.noticeId}/${b.revision}/${b.channel}`;
    const group = lost.get(key) ?? {
      channel: b.channel,
      noticeId: b.noticeId,
      revision: b.revision,
      priority: severityToPriority(b.severity),
      batches: [],
    };
    group.batches.push(b.batch);
    lost.set(key, group);
  }
  // A round of its own, so the id of a job that finished (and is still kept) does not swallow the new one.
  const round = now.getTime();
  for (const g of lost.values()) {
    await deps.queues.enqueueDeliver(
      g.channel,
      g.batches,
      { noticeId: g.noticeId, revision: g.revision },
      { priority: g.priority, round },
    );
    deps.logger.warn(
      { noticeId: g.noticeId, revision: g.revision, channel: g.channel, batches: g.batches.length },
      'queued rows had no job in Redis; batches queued again',
    );
    result.batches += g.batches.length;
  }
  return result;
}

export interface LostJobSweeper {
  /** Sweeps now (when no other process holds the sweep); undefined when it did not run. */
  sweep(): Promise<SweepResult | undefined>;
  stop(): Promise<void>;
}

/**
 * Sweeps every intervalMs in a worker process. One process sweeps at a time across the
 * deployment (a Redis key held for the interval), so two never queue the same batch.
 */
export function startLostJobSweeper(deps: SweeperDeps, settings = sweepSettings(deps.config)): LostJobSweeper {
  const lockKey = `${deps.config.queuePrefix}:lost-job-sweeper`;
  const owner = randomBytes(8).toString('hex');
  const log = deps.logger.child({ component: 'lost-job-sweeper' });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<SweepResult | undefined> | undefined;
  let stopped = false;

  const sweepOnce = async (): Promise<SweepResult | undefined> => {
    const held = await deps.redis.set(lockKey, owner, 'PX', settings.intervalMs, 'NX');
    if (held !== 'OK') return undefined;
    try {
      return await sweepLostJobs(deps, settings);
    } catch (err) {
      // A store or Redis outage: the next sweep, after it, finds the same work.
      const reason = { message: (err as Error).message, storeUnavailable: isStoreUnavailable(err) };
      log.warn({ err: reason }, 'sweep for lost jobs did not finish');
      return undefined;
    }
  };

  const sweep = () => {
    running ??= sweepOnce().finally(() => {
      running = undefined;
    });
    return running;
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void sweep()
        .catch((err: unknown) => log.warn({ err: { message: (err as Error).message } }, 'sweep failed'))
        .finally(schedule);
    }, settings.intervalMs);
    timer.unref();
  };
  schedule();

  return {
    sweep,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
