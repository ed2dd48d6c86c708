import pino from 'pino';
import { createMailChannel } from '../../../channels/mail/mail-channel.ts';
import { type SmtpSink, startSmtpSink } from '../../fakes/smtp-sink.ts';
import type { ChannelHarness } from './types.ts';

export const mailHarness: ChannelHarness = {
  id: 'mail',
  async setUp() {
    const sink: SmtpSink = await startSmtpSink({ record: 'count' });
    const channel = createMailChannel(
      { from: '"菊池市" <noreply@example.jp>', smtpUrl: sink.url, connections: 4, batch: 50 },
      { logger: pino({ level: 'silent' }) },
    );
    return {
      channel,
      recipients: (n) =>
        Array.from({ length: n }, (_, i) => ({
          deliveryId: i + 1,
          contactId: i + 1,
          address: `resident${i}@example.jp`,
          locale: 'ja' as const,
          unsubscribeUrl: `https://hibiki.example.jp/unsubscribe?c=${i + 1}&t=x`,
        })),
      delivered: async () => sink.count,
      failNextTemporarily: () => sink.failNext(1, 451, '4.7.1 Greylisted, try again later'),
      async tearDown() {
        await channel.close?.();
        await sink.close();
      },
    };
  },
};
