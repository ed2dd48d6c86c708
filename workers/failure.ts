import { type Job, type Queue, RateLimitError, UnrecoverableError } from 'bullmq';
import { ChannelError } from '../channels/types.ts';
import { isStoreUnavailable } from '../src/store/store-errors.ts';

/**
 * How long a queue waits when the store cannot be reached (a database restart, failover or
 * a held SQLite lock) before its worker tries a job again. It uses no attempt: an outage
 * of the store is nobody's delivery failing.
 */
export const STORE_PAUSE_MS = 2_000;

export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
}

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

/**
 * Exponential backoff with full jitter (so a thousand batches that failed together do not
 * return together), never sooner than a provider's Retry-After.
 */
export function backoffDelay(
  attemptsMade: number,
  err: unknown,
  settings: BackoffSettings,
  random = Math.random,
): number {
  const ceiling = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = Math.round(ceiling / 2 + random() * (ceiling / 2));
  const floor = retryAfterOf(err) ?? 0;
  return Math.max(jittered, floor);
}

/**
 * The one place where a ChannelError becomes BullMQ behaviour:
 * permanent → UnrecoverableError (no more attempts); rate-limited → the channel's queue
 * pauses for Retry-After and the job goes back without using an attempt; the store
 * unreachable (isStoreUnavailable) → the queue pauses for STORE_PAUSE_MS, likewise without
 * using an attempt, so no delivery is failed for an outage; anything else → rethrown, so
 * BullMQ retries it after backoffDelay().
 */
export async function toBullmqError(err: unknown, queue: Queue): Promise<Error> {
  if (err instanceof ChannelError && err.kind === 'permanent') return new UnrecoverableError(err.message);
  if (isStoreUnavailable(err)) {
    await queue.rateLimit(STORE_PAUSE_MS);
    return new RateLimitError();
  }
  if (err instanceof ChannelError && err.kind === 'rate-limited') {
    await queue.rateLimit(Math.max(1, err.retryAfterMs ?? 1_000));
    return new RateLimitError();
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * A processor whose store errors, wherever in the job they happen (reading the notice,
 * counting an attempt, recording outcomes), pause the queue instead of using an attempt.
 */
export function pausingWhileStoreUnavailable<D, R, N extends string>(
  processor: (job: Job<D, R, N>, token?: string, signal?: AbortSignal) => Promise<R>,
  queue: Queue,
): (job: Job<D, R, N>, token?: string, signal?: AbortSignal) => Promise<R> {
  return async (job, token, signal) => {
    try {
      return await processor(job, token, signal);
    } catch (err) {
      if (err instanceof RateLimitError || !isStoreUnavailable(err)) throw err;
      throw await toBullmqError(err, queue);
    }
  };
}
