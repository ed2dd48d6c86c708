import { z } from 'zod';
import { defineChannel } from '../plugin.ts';
import { createMailChannel } from './mail-channel.ts';
import { previewMail } from './preview.ts';

/**
 * E-mail to subscribers. The transport (SMTP_URL or the outbox, MAIL_FROM, DKIM) is not
 * this channel's own: residents' confirmation mails use it too, so it comes as a port.
 */
export const mailPlugin = defineChannel({
  id: 'mail',
  labels: { ja: 'メール', en: 'E-mail' },
  env: z.object({
    MAIL_UNSUBSCRIBE_MAILTO: z.email().optional(),
    MAIL_BATCH: z.coerce.number().int().min(1).max(1_000).default(100),
    MAIL_CONNECTIONS: z.coerce.number().int().min(1).max(100).default(8),
  }),
  settings: (env) => ({
    batch: env.MAIL_BATCH,
    connections: env.MAIL_CONNECTIONS,
    unsubscribeMailto: env.MAIL_UNSUBSCRIBE_MAILTO,
  }),
  create: (settings, ports) =>
    createMailChannel(
      {
        from: ports.mailTransport.from,
        smtpUrl: ports.mailTransport.smtpUrl,
        outboxDir: ports.mailTransport.outboxDir,
        dkim: ports.mailTransport.dkim,
        connections: settings.connections,
        batch: settings.batch,
        unsubscribeMailto: settings.unsubscribeMailto,
      },
      { logger: ports.logger },
    ),
  preview: previewMail,
});
