import { z } from 'zod';
import { commaList, defineChannel, type SettingIssue, secret } from '../plugin.ts';
import { DEFAULT_PUSH_HOSTS } from './endpoint-policy.ts';
import { previewPush } from './preview.ts';
import { resolveVapidKeys } from './vapid.ts';
import { createWebPushChannel } from './webpush-channel.ts';

/** Browser notifications (Web Push, VAPID) to residents who subscribed on the push page. */
export const webpushPlugin = defineChannel({
  id: 'webpush',
  labels: { ja: 'アプリ通知（Web Push）', en: 'Web Push' },
  env: z.object({
    VAPID_PUBLIC_KEY: z
      .string()
      .regex(/^[A-Za-z0-9_-]{80,100}$/, 'a base64url P-256 public key')
      .optional(),
    VAPID_PRIVATE_KEY: secret(
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{40,50}$/, 'a base64url P-256 private key')
        .optional(),
    ),
    VAPID_SUBJECT: z
      .string()
      .regex(/^(mailto:|https:\/\/)/, 'mailto: or https:// (a contact for the push services)')
      .optional(),
    WEBPUSH_TTL_SECONDS: z.coerce.number().int().min(0).max(2_419_200).default(86_400),
    WEBPUSH_EXTRA_HOSTS: z
      .string()
      .default('')
      .transform((s) => commaList(s.toLowerCase())),
  }),
  checkEnv(env): SettingIssue[] {
    if (Boolean(env.VAPID_PUBLIC_KEY) === Boolean(env.VAPID_PRIVATE_KEY)) return [];
    return [
      {
        setting: env.VAPID_PUBLIC_KEY ? 'VAPID_PRIVATE_KEY' : 'VAPID_PUBLIC_KEY',
        message: 'set both VAPID keys, or neither (Hibiki then makes a pair once and keeps it in the store)',
      },
    ];
  },
  settings: (env, common) => ({
    vapid:
      env.VAPID_PUBLIC_KEY && env.VAPID_PRIVATE_KEY
        ? { publicKey: env.VAPID_PUBLIC_KEY, privateKey: env.VAPID_PRIVATE_KEY }
        : undefined,
    // Push services want a way to reach the sender: the public site, unless one is given.
    subject:
      env.VAPID_SUBJECT ??
      (common.publicBaseUrl.startsWith('https://') ? common.publicBaseUrl : 'mailto:hibiki@localhost'),
    ttlSeconds: env.WEBPUSH_TTL_SECONDS,
    // Push services beyond the major browsers' (a self-hosted one; a local fake in tests).
    extraHosts: env.WEBPUSH_EXTRA_HOSTS,
  }),
  async create(settings, ports) {
    // Browsers bind each subscription to the VAPID public key: the pair is resolved before the channel is made.
    const vapid = await resolveVapidKeys(settings, ports.keptValues);
    return createWebPushChannel(
      {
        vapid,
        subject: settings.subject,
        ttlSeconds: settings.ttlSeconds,
        allowedHosts: [...DEFAULT_PUSH_HOSTS, ...settings.extraHosts],
        allow: ports.outboundAllow,
      },
      { logger: ports.logger, ...ports.pushKeys },
    );
  },
  preview: previewPush,
});
