import { z } from 'zod';
import { defineChannel } from '../plugin.ts';
import { createWebhookChannel } from './webhook-channel.ts';

/** The payload as sent, indented when it is JSON (it always is). */
function shownBody(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

/** Signed Standard Webhooks to the city's partners' endpoints. */
export const webhookPlugin = defineChannel({
  id: 'webhook',
  labels: { ja: 'Webhook（外部連携）', en: 'Webhooks' },
  env: z.object({
    WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    WEBHOOK_ALLOW_HTTP_LOOPBACK: z.stringbool().default(false),
  }),
  settings: (env) => ({ timeoutMs: env.WEBHOOK_TIMEOUT_MS, allowHttpLoopback: env.WEBHOOK_ALLOW_HTTP_LOOPBACK }),
  create: (settings, ports) =>
    createWebhookChannel(
      { ...settings, allow: ports.outboundAllow },
      { logger: ports.logger, secretOf: ports.webhookSecretOf },
    ),
  preview: (rendered) => ({ items: [{ kind: 'text', text: shownBody(rendered.body) }], warnings: [] }),
});
