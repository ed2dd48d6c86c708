import { type Job, type Queue, RateLimitError } from 'bullmq';
import { ChannelError } from '../channels/types.ts';
import { isStoreUnavailable } from '../src/store/store-errors.ts';
import {
  type BackoffSettings,
  backoffDelay,
  classifyFailure,
  decideRetry,
  type RetrySettings,
  STORE_PAUSE_MS,
} from './retry-policy.ts';

/** Raised by the deliver worker when some recipients of a batch are to be tried again. */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

function retryAfterOf(err: unknown): number | undefined {
  if (err instanceof ChannelError || err instanceof RetryLaterError) return err.retryAfterMs;
  // Should a store error reach BullMQ as a plain failure, it still waits out a pause.
  if (isStoreUnavailable(err)) return STORE_PAUSE_MS;
  return undefined;
}

/** BullMQ's backoff strategy: retry-policy.ts's backoffDelay, floored by the error's Retry-After. */
export function backoffStrategy(settings: BackoffSettings, random = Math.random) {
  return (attemptsMade: number, _type: string | undefined, err: Error | undefined): number =>
    backoffDelay(attemptsMade, retryAfterOf(err), settings, random);
}

/**
 * A processor whose store errors, wherever in the job they happen (reading the notice,
 * counting an attempt, recording outcomes), pause the queue instead of using an attempt, as
 * decideRetry() decides. Only that decision is carried out here: a ChannelError is the
 * batch's own business (deliver.ts), and any other failure goes to BullMQ as it is.
 */
export function pausingWhileStoreUnavailable<D, R, N extends string>(
  processor: (job: Job<D, R, N>, token?: string, signal?: AbortSignal) => Promise<R>,
  queue: Queue,
  settings: RetrySettings,
): (job: Job<D, R, N>, token?: string, signal?: AbortSignal) => Promise<R> {
  return async (job, token, signal) => {
    try {
      return await processor(job, token, signal);
    } catch (err) {
      if (err instanceof RateLimitError) throw err;
      const decision = decideRetry(
        {
          outcome: { kind: 'threw', failure: classifyFailure(err, { channelErrors: false }) },
          attempt: job.attemptsMade + 1,
          attempts: job.opts.attempts ?? 1,
          queuedAt: job.timestamp,
          expiresAt: null,
          canDelay: false,
          now: Date.now(),
        },
        settings,
      );
      if (decision.action !== 'pause-queue') throw err;
      await queue.rateLimit(decision.waitMs);
      throw new RateLimitError();
    }
  };
}
