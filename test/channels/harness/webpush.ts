import pino from 'pino';
import webpush from 'web-push';
import type { Recipient } from '../../../channels/types.ts';
import { createWebPushChannel } from '../../../channels/webpush/webpush-channel.ts';
import { startPushService } from '../../fakes/push-service.ts';
import type { ChannelHarness } from './types.ts';

/**
 * The Web Push channel against the local push service, which verifies VAPID and decrypts
 * every message. Each recipient is a browser subscription of its own.
 *
 * No breakCredentials: a push service refusing our VAPID key (401/403) refuses it for
 * that one subscription, which the channel reports as that recipient's 'failed' result,
 * not as a channel-wide ChannelError (test/channels/webpush.test.ts covers it).
 */
export const webpushHarness: ChannelHarness = {
  id: 'webpush',
  async setUp() {
    const service = await startPushService();
    const vapid = webpush.generateVAPIDKeys();
    const keys = new Map<number, { p256dh: string; auth: string }>();
    const channel = createWebPushChannel(
      {
        vapid,
        subject: 'mailto:bousai@city.example.jp',
        ttlSeconds: 3_600,
        agent: service.agent(),
        allowedHosts: ['127.0.0.1'],
        allow: ['127.0.0.1/32'],
      },
      { logger: pino({ level: 'silent' }), keysOf: async (id) => keys.get(id) },
    );
    let next = 1;
    return {
      channel,
      recipients(n) {
        return Array.from({ length: n }, (): Recipient => {
          const id = next++;
          const sub = service.subscribe({ applicationServerKey: vapid.publicKey });
          keys.set(id, sub.keys);
          return { deliveryId: id, contactId: id, address: sub.endpoint, locale: 'ja' };
        });
      },
      delivered: async () => service.messages.length,
      failNextTemporarily: () => service.failNext(1, 503, { 'retry-after': '1' }),
      async tearDown() {
        await channel.close?.();
        await service.close();
      },
    };
  },
};
