import type { Redis } from 'ioredis';
import { pluginOf } from '../channels/catalog.ts';
import { loadDkim } from '../channels/mail/dkim.ts';
import type { ChannelPorts } from '../channels/plugin.ts';
import { type ChannelRegistry, createChannelRegistry } from '../channels/registry.ts';
import type { Channel, ChannelId } from '../channels/types.ts';
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

/** What every channel's factory may use from outside: the store's repos, the mail transport, the settings. */
function channelPorts(config: Config, store: Store): Omit<ChannelPorts, 'logger'> {
  return {
    city: config.city,
    outboundAllow: config.outbound.allow,
    mailTransport: {
      from: config.mailFrom,
      smtpUrl: config.smtpUrl,
      outboxDir: config.outboxDir,
      // Read only where mail is sent from here, so a deployment without mail never opens the key file.
      dkim: config.channels.includes('mail') && config.mailDkim ? loadDkim(config.mailDkim) : undefined,
    },
    capArchive: store.capMessages,
    webhookSecretOf: store.webhooks.secretOf,
    pushKeys: { keysOf: store.pushSubscriptions.keysOf, keysOfMany: store.pushSubscriptions.keysOfMany },
    keptValues: store.settings,
  };
}

/** The one place a channel id becomes a channel: its plug-in's factory, with its settings and the ports. */
async function createChannel(id: ChannelId, config: Config, ports: ChannelPorts): Promise<Channel> {
  const plugin = pluginOf(id);
  return (await plugin.create(config[id], ports)) as Channel;
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
  const ports = channelPorts(config, store);
  // One at a time, in CHANNELS order: a factory may resolve something once first (webpush's VAPID pair).
  const made: Channel[] = [];
  for (const id of config.channels) {
    const channel = await createChannel(id, config, { ...ports, logger: logger.child({ channel: id }) });
    made.push(limitBatch(channel, config.delivery.batchLimit));
  }
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
