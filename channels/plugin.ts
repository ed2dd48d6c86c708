import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Bilingual } from '../src/domain/bilingual.ts';
import type { ChannelId, Locale, NoticeView } from '../src/domain/notice.ts';
import type { CapChannelDeps } from './cap/cap-channel.ts';
import type { DkimSigning } from './mail/dkim.ts';
import type { Channel } from './types.ts';
import type { WebhookDeps } from './webhook/webhook-channel.ts';
import type { WebPushDeps } from './webpush/webpush-channel.ts';

/**
 * What a channel brings to Hibiki, in one object its folder's index.ts exports and
 * channels/catalog.ts lists: config.ts reads its settings, deps.ts creates it, the console
 * shows its preview, from this object alone.
 */

/** Marks a setting whose whole value is a secret: loadConfig never echoes it, the log scan looks for it. */
export function secret<T extends z.ZodType>(schema: T): T {
  return schema.meta({ secret: true });
}

/** True for a setting marked with secret(). */
export function isSecret(schema: z.ZodType): boolean {
  return schema.meta()?.secret === true;
}

/** A problem with a combination of settings, named by the variable that should change. */
export interface SettingIssue {
  setting: string;
  message: string;
}

/** Settings every channel may read that are not any one channel's. */
export interface CommonSettings {
  publicBaseUrl: string;
}

/**
 * What a channel's factory needs from outside, handed over by the composition root
 * (src/deps.ts): the channel itself knows nothing of the store, the queue or the environment.
 */
export interface ChannelPorts {
  /** Already a child logger with the channel's id. */
  logger: Logger;
  city: { code: string; name: string; nameEn: string };
  /** Internal addresses the outbound HTTP layer may still connect to (OUTBOUND_ALLOW). */
  outboundAllow: readonly string[];
  /** The SMTP/outbox transport, shared with the residents' transactional mail. */
  mailTransport: { from: string; smtpUrl?: string | undefined; outboxDir: string; dkim?: DkimSigning | undefined };
  /** Where CAP messages are kept, for the feed (the store's capMessages). */
  capArchive: CapChannelDeps['archive'];
  /** A webhook endpoint's signing secret (the store's webhooks.secretOf). */
  webhookSecretOf: WebhookDeps['secretOf'];
  /** A push subscription's browser keys (the store's pushSubscriptions). */
  pushKeys: Pick<WebPushDeps, 'keysOf' | 'keysOfMany'>;
  /** Small durable values Hibiki makes once and keeps (the store's settings), e.g. a generated VAPID pair. */
  keptValues: { getOrCreate(key: string, make: () => string): Promise<string> };
}

/** One piece of a channel's preview on the console, as data: the console draws it. */
export type PreviewItem =
  /** A label with its value on one line (件名 Subject: …). */
  | { kind: 'field'; label: Bilingual; value: string }
  /** A label over the text that follows. */
  | { kind: 'heading'; label: Bilingual }
  /** A line of the message in bold (a push notification's title). */
  | { kind: 'title'; text: string }
  /** Text shown as sent. */
  | { kind: 'text'; text: string }
  /** Numbered posts, each with a note (an X thread with its weighted lengths). */
  | { kind: 'posts'; posts: Array<{ text: string; note: Bilingual }> };

export interface ChannelPreview {
  items: PreviewItem[];
  /** What staff should know before sending: a cut, a split. */
  warnings: Bilingual[];
  /** A short count shown beside the body while typing (X's posts and weights). */
  count?: string;
}

export interface ChannelPlugin<
  Id extends ChannelId = ChannelId,
  Env extends z.ZodObject = z.ZodObject,
  Settings = unknown,
  Rendered = unknown,
> {
  id: Id;
  /** The channel's name on every page and message. */
  labels: Record<Locale, string>;
  /** Its environment settings, by their variable names, secrets marked with secret(). */
  env: Env;
  /** Rules across its settings; enabled: the channel is in CHANNELS. */
  checkEnv?(env: z.output<Env>, enabled: boolean): SettingIssue[];
  /** The parsed settings as the Config holds them, under the channel's id. */
  settings(env: z.output<Env>, common: CommonSettings): Settings;
  create(settings: Settings, ports: ChannelPorts): Channel<Rendered> | Promise<Channel<Rendered>>;
  /** How the console shows one rendered message (this channel's own render() output). */
  preview(rendered: Rendered, view: NoticeView, locale: Locale): ChannelPreview;
}

/** Checks a plug-in's parts against each other while keeping its exact types for the catalogue. */
export function defineChannel<Id extends ChannelId, Env extends z.ZodObject, Settings, Rendered>(
  plugin: ChannelPlugin<Id, Env, Settings, Rendered>,
): ChannelPlugin<Id, Env, Settings, Rendered> {
  return plugin;
}

/** A comma-separated setting as its items, trimmed, empty ones dropped. */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
