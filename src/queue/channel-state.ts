import type { Redis } from 'ioredis';
import type { ChannelId } from '../domain/notice.ts';

/** A channel whose provider as a whole does not take deliveries, as the workers last found it. */
export interface ChannelDown {
  channel: ChannelId;
  /** The first failure of this outage. */
  since: Date;
  /** The latest failure: a probe, or a batch that met the outage. */
  lastFailureAt: Date;
  /** What the provider did, in words for staff (never a response body). */
  reason: string;
}

/**
 * A state no worker has refreshed for this long is dropped: nothing probes a channel that has
 * no work left. Longer than the longest probe interval (workers/provider-outage.ts), so a
 * live outage never loses its `since`.
 */
export const CHANNEL_STATE_TTL_MS = 15 * 60_000;

/** Sets `since` only on the outage's first failure; returns it. */
const MARK_DOWN = `
redis.call('hsetnx', KEYS[1], 'since', ARGV[1])
redis.call('hset', KEYS[1], 'lastFailureAt', ARGV[1], 'reason', ARGV[2])
redis.call('pexpire', KEYS[1], ARGV[3])
return redis.call('hget', KEYS[1], 'since')`;

export type ChannelStates = ReturnType<typeof createChannelStates>;

/**
 * Which channels' providers are down, kept in Redis so every worker process, the console and
 * /readyz see one answer: a worker that finds the provider down marks it, the first send the
 * provider takes again clears it.
 */
export function createChannelStates(redis: Redis, prefix: string) {
  const key = (channel: ChannelId) => `${prefix}:channel-down:${channel}`;

  function parse(channel: ChannelId, h: Record<string, string>): ChannelDown | undefined {
    if (!h.since) return undefined;
    return {
      channel,
      since: new Date(Number(h.since)),
      lastFailureAt: new Date(Number(h.lastFailureAt ?? h.since)),
      reason: h.reason ?? '',
    };
  }

  return {
    /** Records a failure of the whole provider; returns when this outage began. */
    async markDown(channel: ChannelId, reason: string, now = new Date()): Promise<Date> {
      const since = await redis.eval(
        MARK_DOWN,
        1,
        key(channel),
        String(now.getTime()),
        reason.slice(0, 500),
        String(CHANNEL_STATE_TTL_MS),
      );
      return new Date(Number(since));
    },
    /** The provider took a delivery: the outage, if any, is over. Returns the one it ended. */
    async clear(channel: ChannelId): Promise<ChannelDown | undefined> {
      const answers = (await redis.multi().hgetall(key(channel)).del(key(channel)).exec()) ?? [];
      const [err, h] = answers[0] ?? [];
      if (err) throw err;
      return parse(channel, (h ?? {}) as Record<string, string>);
    },
    async get(channel: ChannelId): Promise<ChannelDown | undefined> {
      return parse(channel, await redis.hgetall(key(channel)));
    },
    /** The channels among these that are down now, in the order given. */
    async list(channels: readonly ChannelId[]): Promise<ChannelDown[]> {
      if (channels.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const c of channels) pipeline.hgetall(key(c));
      const answers = (await pipeline.exec()) ?? [];
      return channels.flatMap((c, i) => {
        const [err, h] = answers[i] ?? [];
        if (err) throw err;
        const down = parse(c, (h ?? {}) as Record<string, string>);
        return down ? [down] : [];
      });
    },
  };
}
