import type { Redis } from 'ioredis';
import { createCapChannel } from '../channels/cap/cap-channel.ts';
import { createLineChannel } from '../channels/line/line-channel.ts';
import { loadDkim } from '../channels/mail/dkim.ts';
import { createMailChannel } from '../channels/mail/mail-channel.ts';
import { type ChannelRegistry, createChannelRegistry } from '../channels/registry.ts';
import type { Channel } from '../channels/types.ts';
import { createWebhookChannel } from '../channels/webhook/webhook-channel.ts';
import { DEFAULT_PUSH_HOSTS } from '../channels/webpush/endpoint-policy.ts';
import { createWebPushChannel } from '../channels/webpush/webpush-channel.ts';
import { createXChannel } from '../channels/x/x-channel.ts';
import type { Config } from './config.ts';
import type { Catalogue } from './domain/catalogue.ts';
import { createLinks, type Links } from './domain/links.ts';
import { loadCatalogue } from './domain/load-catalogue.ts';
import { loadNoticeTemplates } from './domain/load-notice-templates.ts';
import type { Area } from './domain/notice.ts';
import type { NoticeTemplate } from './domain/notice-templates.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createQueues, type Queues } from './queue/queues.ts';
import { createRedis } from './queue/redis-connection.ts';
import { openConfiguredDb } from './store/db.ts';
import { migrate } from './store/migrations.ts';
import { makeSecret } from './store/settings.ts';
import { createStore, type Store } from './store/store.ts';
import { resolveVapidKeys, type VapidKeys } from './store/vapid.ts';

/** Everything the API and the workers share, wired in this one place. */
export interface Deps {
  config: Config;
  logger: Logger;
  store: Store;
  redis: Redis;
  queues: Queues;
  channels: ChannelRegistry;
  links: Links;
  catalogue: Catalogue;
  /** Area codes to names, for rendering. */
  areas: Map<string, Area>;
  /** The fixed notice templates staff pick on the console, checked once at start-up. */
  noticeTemplates: NoticeTemplate[];
  metrics: Metrics;
  close(): Promise<void>;
}

export interface DepsOverrides {
  logger?: Logger;
  /** Replace or add channels (tests use fakes' URLs through the real channel factories). */
  channels?: (made: Channel[], deps: Omit<Deps, 'channels' | 'close'>) => Channel[];
}

/** The one place a channel id becomes a channel, from the deployment's settings. */
function createChannel(
  id: Config['channels'][number],
  config: Config,
  store: Store,
  logger: Logger,
  vapid: VapidKeys | undefined,
): Channel {
  switch (id) {
    case 'mail':
      return createMailChannel(
        {
          from: config.mailFrom,
          smtpUrl: config.smtpUrl,
          outboxDir: config.outboxDir,
          connections: config.mail.connections,
          batch: config.mail.batch,
          unsubscribeMailto: config.mailUnsubscribeMailto,
          dkim: config.mailDkim && loadDkim(config.mailDkim),
        },
        { logger },
      );
    case 'cap':
      return createCapChannel(
        { sender: config.capSender, cityCode: config.city.code, cityName: config.city.name },
        { archive: store.capMessages },
      );
    case 'x':
      return createXChannel(config.x, { logger });
    case 'line':
      return createLineChannel(
        {
          // config.ts refuses to start with line enabled and no token.
          channelAccessToken: config.line.channelAccessToken ?? '',
          baseUrl: config.line.baseUrl,
          emergencyBroadcast: config.line.emergencyBroadcast,
        },
        { logger },
      );
    case 'webhook':
      return createWebhookChannel(
        { ...config.webhook, allow: config.outbound.allow },
        { logger, secretOf: store.webhooks.secretOf },
      );
    case 'webpush':
      if (!vapid) throw new Error('webpush: VAPID keys were not resolved');
      return createWebPushChannel(
        {
          vapid,
          subject: config.webpush.subject,
          ttlSeconds: config.webpush.ttlSeconds,
          allowedHosts: [...DEFAULT_PUSH_HOSTS, ...config.webpush.extraHosts],
          allow: config.outbound.allow,
        },
        { logger, keysOf: store.pushSubscriptions.keysOf, keysOfMany: store.pushSubscriptions.keysOfMany },
      );
  }
}

export async function createDeps(config: Config, overrides: DepsOverrides = {}): Promise<Deps> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const db = openConfiguredDb(config, {
    onIdleError: (err) => logger.warn({ err: { message: err.message } }, 'store connection lost while idle'),
  });
  await migrate(db);
  const store = createStore(db, config.city.code);
  // A deployment without HIBIKI_SECRET still gets stable signed links: the secret is made once and kept in the store.
  const secret = config.secret ?? (await store.settings.getOrCreate('hibiki_secret', makeSecret));
  const links = createLinks(config.publicBaseUrl, secret);
  const catalogue = await loadCatalogue(config.catalogueFile, config.city);
  const areas = new Map(catalogue.areas.map((a) => [a.code, a]));
  const noticeTemplates = loadNoticeTemplates(config.noticeTemplatesDir, {
    topics: catalogue.topics.map((t) => t.id),
  });

  // BullMQ needs maxRetriesPerRequest: null so blocking commands survive a Redis restart.
  const redis = createRedis(config, { maxRetriesPerRequest: null, lazyConnect: false });
  redis.on('error', (err) => logger.warn({ err: { message: err.message } }, 'redis connection error'));
  const queues = createQueues({ connection: redis, prefix: config.queuePrefix, attempts: config.delivery.attempts });
  const metrics = createMetrics();
  metrics.watchQueues(queues);
  // Workers count outcomes in Redis, so the API's /metrics shows them whichever process sent.
  metrics.shareCounts(redis, config.queuePrefix);

  const partial = { config, logger, store, redis, queues, links, catalogue, areas, noticeTemplates, metrics };
  if (config.publicBaseUrl.startsWith('http://')) {
    // RFC 8058 one-click needs https, so mail then carries List-Unsubscribe without it.
    logger.warn(
      { publicBaseUrl: config.publicBaseUrl },
      'PUBLIC_BASE_URL が http です。メールのワンクリック配信停止（RFC 8058）は https のリンクでしか付けられず、住民のリンクも暗号化されません。本番では https の URL にしてください / PUBLIC_BASE_URL is http: mail gets no one-click unsubscribe (RFC 8058 needs https) and residents’ links travel unencrypted; set an https URL in production',
    );
  }
  if (config.channels.includes('mail') && !config.smtpUrl) {
    logger.info({ outbox: config.outboxDir }, 'SMTP_URL is not set: mail is written as .eml files to the outbox');
  }
  // Browsers bind each subscription to the VAPID public key: resolve it once, before any channel is made.
  const vapid = config.channels.includes('webpush')
    ? await resolveVapidKeys(config.webpush, store.settings)
    : undefined;
  const made = config.channels
    .map((id) => createChannel(id, config, store, logger.child({ channel: id }), vapid))
    .map((c) => limitBatch(c, config.delivery.batchLimit));
  const channels = createChannelRegistry(overrides.channels ? overrides.channels(made, partial) : made);

  return {
    ...partial,
    channels,
    async close() {
      await queues.close();
      await channels.close();
      redis.disconnect();
      await db.close();
    },
  };
}

/** A channel whose jobs hold at most `limit` recipients (DELIVERY_BATCH_LIMIT). */
function limitBatch(channel: Channel, limit: number | undefined): Channel {
  return limit === undefined || channel.maxBatch <= limit ? channel : { ...channel, maxBatch: limit };
}
