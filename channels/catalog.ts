import type { Locale } from '../src/domain/notice.ts';
import { CHANNEL_IDS, type ChannelId } from '../src/domain/notice.ts';
import { capPlugin } from './cap/index.ts';
import { linePlugin } from './line/index.ts';
import { mailPlugin } from './mail/index.ts';
import type { ChannelPlugin } from './plugin.ts';
import { webhookPlugin } from './webhook/index.ts';
import { webpushPlugin } from './webpush/index.ts';
import { xPlugin } from './x/index.ts';

/**
 * Every channel Hibiki has, one line each. Settings, wiring, labels, the console's
 * previews and the conformance suite all go through this list. The order is the one
 * config.ts's messages list the channels in.
 */
export const CATALOG = [mailPlugin, capPlugin, xPlugin, linePlugin, webhookPlugin, webpushPlugin] as const;

export type CatalogPlugin = (typeof CATALOG)[number];

/** The settings of every channel, as the Config holds them under each channel's id. */
export type ChannelSettings = { [P in CatalogPlugin as P['id']]: ReturnType<P['settings']> };

// The domain's ChannelId (src/domain sits below channels and cannot import this list) and the
// catalogue must name the same channels: a channel added to one and not the other fails here.
type Missing<A, B> = Exclude<A, B> extends never ? true : { notInBoth: Exclude<A, B> };
const sameIds: [Missing<ChannelId, CatalogPlugin['id']>, Missing<CatalogPlugin['id'], ChannelId>] = [true, true];
void sameIds;

/** The catalogue's ids, in its order. */
export const CATALOG_IDS = CATALOG.map((p) => p.id) as unknown as readonly [ChannelId, ...ChannelId[]];

const BY_ID = new Map<ChannelId, ChannelPlugin>(CATALOG.map((p) => [p.id, p as unknown as ChannelPlugin]));
if (BY_ID.size !== CHANNEL_IDS.length) throw new Error('channels/catalog.ts: a channel is listed twice');

/** The plug-in of a channel. */
export function pluginOf(id: ChannelId): ChannelPlugin {
  const plugin = BY_ID.get(id);
  if (!plugin) throw new Error(`channel ${id} is not in channels/catalog.ts`);
  return plugin;
}

/** Each channel's name in Japanese and English, the same on every page and message. */
export const CHANNEL_WORD = Object.fromEntries(CATALOG.map((p) => [p.id, p.labels])) as Record<
  ChannelId,
  Record<Locale, string>
>;
