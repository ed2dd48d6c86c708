import { createHash } from 'node:crypto';
import pino from 'pino';
import { createLineChannel } from '../../../channels/line/line-channel.ts';
import { type LineFake, startLineFake } from '../../fakes/line-api.ts';
import type { ChannelHarness } from './types.ts';

/** A LINE user id as LINE makes them (U + 32 hex digits), stable per number. */
export function lineUserId(n: number): string {
  return `U${createHash('md5').update(`resident-${n}`).digest('hex')}`;
}

export const lineHarness: ChannelHarness = {
  id: 'line',
  async setUp() {
    const fake: LineFake = await startLineFake();
    const channel = createLineChannel(
      { channelAccessToken: fake.token, baseUrl: fake.baseUrl, emergencyBroadcast: false, timeoutMs: 2_000 },
      { logger: pino({ level: 'silent' }) },
    );
    let next = 0;
    return {
      channel,
      recipients: (n) =>
        Array.from({ length: n }, () => {
          next++;
          return { deliveryId: next, contactId: next, address: lineUserId(next), locale: 'ja' as const };
        }),
      delivered: async () => fake.delivered,
      failNextTemporarily: () => fake.failNext(1, 500),
      breakCredentials: () => fake.setToken('a-token-the-channel-does-not-have'),
      async tearDown() {
        await channel.close?.();
        await fake.close();
      },
    };
  },
};
