import pino from 'pino';
import { createXChannel } from '../../../channels/x/x-channel.ts';
import { startXFake, type XFake } from '../../fakes/x-api.ts';
import type { ChannelHarness } from './types.ts';

const KEYS = {
  appKey: 'conformance-app-key',
  appSecret: 'conformance-app-secret',
  accessToken: '1234567890-conformance-access-token',
  accessSecret: 'conformance-access-secret',
};

export const xHarness: ChannelHarness = {
  id: 'x',
  async setUp() {
    const fake: XFake = await startXFake({ oauth1: KEYS });
    const channel = createXChannel(
      { oauth1: KEYS, baseUrl: fake.url, longText: 'thread', threadMax: 4, replyRetryDelaysMs: [10] },
      { logger: pino({ level: 'silent' }) },
    );
    return {
      channel,
      recipients: () => [{ deliveryId: 1, contactId: null, address: '*', locale: 'ja' as const }],
      // One notice is one conversation: count the posts that start one, not the replies of a thread.
      delivered: async () => fake.posts.filter((p) => p.replyTo === null).length,
      failNextTemporarily: () => fake.failNext(1, 503),
      breakCredentials: () => fake.revokeCredentials(),
      async tearDown() {
        await channel.close?.();
        await fake.close();
      },
    };
  },
};
