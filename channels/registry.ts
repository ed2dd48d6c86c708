import type { ChannelId } from '../src/domain/notice.ts';
import type { Channel } from './types.ts';

/** The channels this deployment has enabled, by id. */
export interface ChannelRegistry {
  get(id: ChannelId): Channel | undefined;
  require(id: ChannelId): Channel;
  ids(): ChannelId[];
  all(): Channel[];
  close(): Promise<void>;
}

export function createChannelRegistry(channels: Channel[]): ChannelRegistry {
  const byId = new Map<ChannelId, Channel>(channels.map((c) => [c.id, c]));
  return {
    get: (id) => byId.get(id),
    require(id) {
      const channel = byId.get(id);
      if (!channel)
        throw new Error(`channel ${id} is not enabled here (CHANNELS lists ${[...byId.keys()].join(', ')})`);
      return channel;
    },
    ids: () => [...byId.keys()],
    all: () => [...byId.values()],
    async close() {
      await Promise.all(channels.map((c) => c.close?.()));
    },
  };
}
