import type { Worker } from 'bullmq';
import type { Deps } from '../src/deps.ts';
import { createDeliverWorkers } from './deliver.ts';
import { createDispatchWorker } from './dispatch.ts';

export interface RunningWorkers {
  workers: Worker[];
  /** Stops taking jobs and waits for the ones in flight to finish. */
  close(): Promise<void>;
}

export function startWorkers(deps: Deps): RunningWorkers {
  const workers: Worker[] = [createDispatchWorker(deps), ...createDeliverWorkers(deps)];
  for (const worker of workers) {
    const log = deps.logger.child({ queue: worker.name });
    // Logged here once; the delivery rows hold each recipient's outcome.
    worker.on('failed', (job, err) => {
      if (job) log.info({ job: job.id, attemptsMade: job.attemptsMade, reason: err.message }, 'job attempt failed');
    });
    worker.on('error', (err) => log.error({ err: { message: err.message } }, 'worker error'));
  }
  return {
    workers,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
