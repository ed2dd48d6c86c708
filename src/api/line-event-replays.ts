import type { Redis } from 'ioredis';

/**
 * LINE's webhook events carry a `webhookEventId` (a ULID). A signed body stays signed for
 * ever, so anyone who once saw one (a log, a proxy) could post it again: a replayed
 * `unfollow` would stop a resident who has since followed again. Each id is claimed once in
 * Redis, shared by every API process, and remembered for a day — longer than LINE
 * redelivers; an event whose own timestamp is older than that is ignored too.
 */

export const LINE_EVENT_MEMORY_SECONDS = 24 * 60 * 60;

/** LINE's ids are 26-character ULIDs; anything of another shape is not claimed (and not trusted as a key). */
const EVENT_ID = /^[0-9A-Za-z_-]{1,64}$/;

export interface LineEventReplays {
  /**
   * True the first time an id is seen in the last day (or when it has none we can use);
   * false for a replay, and for an event older than the day ids are remembered for: it
   * may have been handled before the memory of it ran out.
   */
  claim(webhookEventId: unknown, timestamp?: unknown, now?: number): Promise<boolean>;
  /** Forgets an id whose handling failed, so LINE's redelivery of it is handled. */
  release(webhookEventId: unknown): Promise<void>;
}

export function createLineEventReplays(redis: Redis, prefix: string): LineEventReplays {
  const key = (id: string) => `${prefix}:line-event:${id}`;
  const usable = (id: unknown): id is string => typeof id === 'string' && EVENT_ID.test(id);
  return {
    async claim(id, timestamp, now = Date.now()) {
      if (typeof timestamp === 'number' && now - timestamp > LINE_EVENT_MEMORY_SECONDS * 1000) return false;
      if (!usable(id)) return true;
      return (await redis.set(key(id), '1', 'EX', LINE_EVENT_MEMORY_SECONDS, 'NX')) === 'OK';
    },
    async release(id) {
      if (usable(id)) await redis.del(key(id));
    },
  };
}
