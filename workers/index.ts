import type { Worker } from 'bullmq';
import { createChannelRegistry } from '../channels/registry.ts';
import type { Deps } from '../src/deps.ts';
import { createDeliverWorkers } from './deliver.ts';
import { createDispatchWorker } from './dispatch.ts';
import { startLostJobSweeper } from './lost-job-sweeper.ts';

export interface RunningWorkers {
  workers: Worker[];
  /**
   * Stops taking jobs and waits for the ones in flight: every delivery batch held finishes
   * and its outcomes are in the store; a dispatch saves its progress at the end of the
   * page it is on and goes back to the queue for the next worker (a large audience would
   * otherwise hold a deploy up for as long as its whole fan-out takes to write); a batch
   * BullMQ hands over while closing goes back unsent.
   */
  close(): Promise<void>;
}

/**
 * Starts a worker on each queue WORKER_QUEUES names (every queue by default), so each
 * channel's queue can have processes of its own. The dispatch worker still sees every
 * enabled channel, since it writes the rows and jobs of all of them; a delivery worker
 * needs only its own.
 */
export function startWorkers(deps: Deps): RunningWorkers {
  const stopping = new AbortController();
  const named = deps.config.workerQueues;
  const taken = new Set<string>(named ?? ['dispatch', ...deps.channels.ids()]);
  const delivering = named
    ? { ...deps, channels: createChannelRegistry(deps.channels.all().filter((c) => taken.has(c.id))) }
    : deps;
  const workers: Worker[] = [
    ...(taken.has('dispatch') ? [createDispatchWorker(deps, { stopping: stopping.signal })] : []),
    ...createDeliverWorkers(delivering, { stopping: stopping.signal }),
  ];
  // Whatever queues it takes, every worker process may sweep: the sweep only adds jobs, to any queue.
  const sweeper = startLostJobSweeper(deps);
  for (const worker of workers) {
    const log = deps.logger.child({ queue: worker.name });
    // Logged here once; the delivery rows hold each recipient's outcome.
    worker.on('failed', (job, err) => {
      if (job) log.info({ job: job.id, attemptsMade: job.attemptsMade, reason: err.message }, 'job attempt failed');
    });
    worker.on('error', (err) => log.error({ err: { message: err.message } }, 'worker error'));
    // A lock that expired while its worker still ran (a stalled event loop) lets a second run
    // of the same job start: worth a warning, as it is the one way a live worker sends twice.
    worker.on('stalled', (jobId) => log.warn({ job: jobId }, 'job stalled: its lock expired, so it is taken up again'));
    // Once the lock is lost another run may already hold the batch: stop sending (the abort
    // leaves the rest queued for it), so the two overlap only by the sends in flight.
    worker.on('lockRenewalFailed', (jobIds) => {
      for (const jobId of jobIds) {
        log.warn({ job: jobId }, 'job lock lost: stopping its sends');
        worker.cancelJob(jobId, 'job lock lost');
      }
    });
  }
  let closing: Promise<void> | undefined;
  return {
    workers,
    close() {
      closing ??= (async () => {
        stopping.abort();
        deps.logger.info('workers stopping: no new jobs; finishing the jobs held');
        await sweeper.stop();
        await Promise.all(workers.map((w) => w.close()));
        deps.logger.info('workers stopped: every job held is finished or back in its queue');
      })();
      return closing;
    },
  };
}
