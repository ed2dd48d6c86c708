import type { ChannelId } from '../channels/types.ts';
import type { Deps } from '../src/deps.ts';
import { type ChannelDown, createChannelStates } from '../src/queue/channel-state.ts';

/**
 * A channel's provider as a whole failing (ChannelError 'provider-down'): the channel is
 * marked down in Redis (channel-state.ts) for the console and /readyz. Whether each batch
 * that meets it is held (retry-policy.ts) reads the `since` kept here, so every batch and
 * worker process meeting one outage agrees.
 */
export function createProviderOutage(deps: Pick<Deps, 'redis' | 'config' | 'logger'>, channel: ChannelId) {
  const states = createChannelStates(deps.redis, deps.config.queuePrefix);
  const log = deps.logger.child({ channel });

  return {
    /** The provider failed as a whole: marks the channel down; returns since when it has been. */
    failed(reason: string, now = new Date()): Promise<Date> {
      return states.markDown(channel, reason, now);
    },

    /** The batch that met it is held (retry-policy.ts decided so): said once per probe. */
    held(since: Date, waitMs: number, reason: string, now = new Date()): void {
      log.warn(
        {
          downSince: since.toISOString(),
          downForMs: now.getTime() - since.getTime(),
          nextProbeMs: waitMs,
          reason,
        },
        'provider down: channel paused, probing',
      );
    },

    /** The provider took a send: clear the outage, if there was one. */
    async answered(now = new Date()): Promise<void> {
      const was = await states.clear(channel);
      if (was) {
        log.info(
          { downSince: was.since.toISOString(), downForMs: now.getTime() - was.since.getTime() },
          'provider answers again: channel resumed',
        );
      }
    },
  };
}

export type ProviderOutage = ReturnType<typeof createProviderOutage>;
export type { ChannelDown };
