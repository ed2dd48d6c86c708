import pino from 'pino';
import { createWebhookChannel } from '../../../channels/webhook/webhook-channel.ts';
import { makeWebhookSecret } from '../../../src/store/webhook-endpoints.ts';
import { startWebhookReceiver } from '../../fakes/webhook-receiver.ts';
import type { ChannelHarness } from './types.ts';

/**
 * The webhook channel against a receiver that verifies every signature. Every endpoint
 * shares the receiver's secret and has a path of its own.
 *
 * No breakCredentials: a receiver refusing our signature (401) refuses that one endpoint,
 * each with its own secret, so the channel reports it as that recipient's 'failed' result;
 * it is not a channel-wide refusal of credentials that a ChannelError would describe.
 */
export const webhookHarness: ChannelHarness = {
  id: 'webhook',
  async setUp() {
    const secret = makeWebhookSecret();
    const receiver = await startWebhookReceiver({ secret });
    const channel = createWebhookChannel(
      { timeoutMs: 5_000, allowHttpLoopback: true },
      { logger: pino({ level: 'silent' }), secretOf: async () => secret },
    );
    return {
      channel,
      recipients: (n) =>
        Array.from({ length: n }, (_, i) => ({
          deliveryId: i + 1,
          contactId: i + 1,
          address: receiver.url(`/hooks/${i + 1}`),
          locale: 'ja' as const,
        })),
      delivered: async () => receiver.deliveries.length,
      failNextTemporarily: () => receiver.failNext(1, 503, { 'retry-after': '1' }),
      async tearDown() {
        if (receiver.disagreements.length > 0) {
          throw new Error(
            `standardwebhooks and the recomputation disagreed on ${receiver.disagreements.length} requests`,
          );
        }
        await receiver.close();
      },
    };
  },
};
