import { type Queue, RateLimitError, UnrecoverableError } from 'bullmq';
import { ChannelError } from '../channels/types.ts';

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
 * pauses for Retry-After and the job goes back without using an attempt; anything else
 * → rethrown, so BullMQ retries it after backoffDelay().
 */
export async function toBullmqError(err: unknown, queue: Queue): Promise<Error> {
  if (err instanceof ChannelError) {
    if (err.kind === 'permanent') return new UnrecoverableError(err.message);
    if (err.kind === 'rate-limited') {
      await queue.rateLimit(Math.max(1, err.retryAfterMs ?? 1_000));
      return new RateLimitError();
    }
  }
  return err instanceof Error ? err : new Error(String(err));
}
