import webpush from 'web-push';
import { createLineChannel } from '../../channels/line/line-channel.ts';
import { createMailChannel } from '../../channels/mail/mail-channel.ts';
import type { Channel } from '../../channels/types.ts';
import { createWebPushChannel } from '../../channels/webpush/webpush-channel.ts';
import { createXChannel } from '../../channels/x/x-channel.ts';
import type { ChannelId } from '../../src/domain/notice.ts';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { lineUserId } from '../channels/harness/line.ts';
import { type LineFake, startLineFake } from '../fakes/line-api.ts';
import { type BrowserSubscription, type PushService, startPushService } from '../fakes/push-service.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import type { StormPhase } from '../fakes/storm.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook-receiver.ts';
import { startXFake, type XFake } from '../fakes/x-api.ts';
import { seedContacts } from '../helpers/bulk-seed.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { residentEmails, tally } from '../helpers/seed.ts';

/** The five channels a storm blows through, each to its own fake. */
export const STORM_CHANNELS = ['mail', 'line', 'webpush', 'webhook', 'x'] as const;
export type StormChannel = (typeof STORM_CHANNELS)[number];

const X_KEYS = {
  appKey: 'storm-app',
  appSecret: 'storm-app-secret',
  accessToken: '1600000000000000009-storm',
  accessSecret: 'storm-secret',
};

export interface StormRigOptions {
  /** Live recipients per subscriber channel (the webhook has one endpoint, X one post). */
  size: { mail: number; line: number; webpush: number };
  /** How long every channel's client waits for an answer before it gives up (and retries). */
  clientTimeoutMs: number;
  /** The mail queue's pause after a relay's "421 try later" for a whole send. */
  mailThrottleWaitMs: number;
  env?: Record<string, string>;
}

export interface StormRig {
  deps: TestDeps;
  sink: SmtpSink;
  line: LineFake;
  push: PushService;
  x: XFake;
  receiver: WebhookReceiver;
  /** Switches every fake to the phase; `random` for errors is per fake, made by `seed`. */
  setPhase(phase: StormPhase, randomFor?: (fake: StormChannel) => () => number): void;
  /** Recipients the fakes refuse for good: a dead mailbox (550 5.1.1), a user id LINE refuses (400), an expired push subscription (410). */
  permanent: { mail: string; line: string; webpush: BrowserSubscription };
  /** Live recipients, as the fakes name them (address, LINE user id, push subscription id, webhook path). */
  live: Record<Exclude<StormChannel, 'x'>, string[]>;
  /** What each fake accepted of this notice: recipient → times. */
  received(noticeId: string, title: string): Record<StormChannel, Map<string, number>>;
  /** Per channel: expected live recipients, delivery rows sent and failed, recipients lost and extra copies. */
  figures(noticeId: string, title: string): Promise<Record<StormChannel, StormFigures>>;
  close(): Promise<void>;
}

export interface StormFigures {
  expected: number;
  sent: number;
  failed: number;
  /** Live recipients the provider never accepted the notice for, or whose row is not sent. */
  lost: number;
  /** Extra copies accepted: Σ (times − 1). */
  duplicated: number;
}

/**
 * The five fakes and the real wiring (createTestDeps, startWorkers) in this process. The
 * channels are the real factories' with a short client timeout, so a "never answers"
 * phase costs seconds, not the production minute; everything else is as deployed.
 */
export async function startStormRig(options: StormRigOptions): Promise<StormRig> {
  const [sink, line, push, x, receiver] = await Promise.all([
    startSmtpSink(),
    startLineFake(),
    startPushService({ decrypt: 'on-read' }),
    startXFake({ oauth1: X_KEYS }),
    startWebhookReceiver(),
  ]);
  const vapid = webpush.generateVAPIDKeys();
  const timeoutMs = options.clientTimeoutMs;
  const deps = await createTestDeps({
    env: {
      CHANNELS: 'mail,line,webpush,webhook,x',
      SMTP_URL: sink.url,
      LINE_CHANNEL_ACCESS_TOKEN: line.token,
      LINE_CHANNEL_SECRET: 'storm-line-secret',
      LINE_API_BASE_URL: line.baseUrl,
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: 'mailto:bousai@city.example.jp',
      WEBHOOK_ALLOW_HTTP_LOOPBACK: 'true',
      WEBHOOK_TIMEOUT_MS: String(timeoutMs),
      X_API_BASE_URL: x.url,
      X_API_KEY: X_KEYS.appKey,
      X_API_SECRET: X_KEYS.appSecret,
      X_ACCESS_TOKEN: X_KEYS.accessToken,
      X_ACCESS_SECRET: X_KEYS.accessSecret,
      ...options.env,
    },
    overrides: {
      // The deployed factories with this test's timeouts; the push service's own host and certificate.
      channels: (made, d) => {
        const { config } = d;
        const logger = (id: ChannelId) => d.logger.child({ channel: id });
        const replaced: Partial<Record<ChannelId, Channel>> = {
          mail: createMailChannel(
            {
              from: config.mailFrom,
              smtpUrl: config.smtpUrl,
              connections: config.mail.connections,
              batch: config.mail.batch,
              timeouts: { connectionMs: timeoutMs, greetingMs: timeoutMs, socketMs: timeoutMs },
              throttleWaitMs: options.mailThrottleWaitMs,
            },
            { logger: logger('mail') },
          ) as Channel,
          line: createLineChannel(
            {
              channelAccessToken: line.token,
              baseUrl: line.baseUrl,
              emergencyBroadcast: false,
              timeoutMs,
              // Several batches, so a storm meets batches at different moments.
              batch: 5,
            },
            { logger: logger('line') },
          ) as Channel,
          webpush: createWebPushChannel(
            {
              vapid,
              subject: config.webpush.subject,
              ttlSeconds: config.webpush.ttlSeconds,
              agent: push.agent(),
              allowedHosts: ['127.0.0.1'],
              allow: ['127.0.0.1/32'],
              timeoutMs,
            },
            {
              logger: logger('webpush'),
              keysOf: d.store.pushSubscriptions.keysOf,
              keysOfMany: d.store.pushSubscriptions.keysOfMany,
            },
          ) as Channel,
          x: createXChannel({ ...config.x, requestTimeoutMs: timeoutMs }, { logger: logger('x') }) as Channel,
        };
        return made.map((c) => {
          const own = replaced[c.id];
          if (own) void c.close?.();
          return own ?? c;
        });
      },
    },
  });

  const emails = residentEmails(options.size.mail, 'storm.example.jp');
  const userIds = Array.from({ length: options.size.line }, (_, i) => lineUserId(7_000 + i));
  const browsers = Array.from({ length: options.size.webpush }, () =>
    push.subscribe({ applicationServerKey: vapid.publicKey }),
  );
  const permanent = {
    mail: 'gone@storm.example.jp',
    line: lineUserId(7_999),
    webpush: push.subscribe({ applicationServerKey: vapid.publicKey }),
  };
  sink.rejectRecipient(permanent.mail, 550, '5.1.1 <gone@storm.example.jp>: Recipient address rejected: User unknown');
  line.rejectUser(permanent.line);
  push.expire(permanent.webpush.endpoint);

  await seedContacts(
    deps,
    'mail',
    [...emails, permanent.mail].map((address) => ({ address })),
  );
  await seedContacts(
    deps,
    'line',
    [...userIds, permanent.line].map((address) => ({ address })),
  );
  await seedContacts(
    deps,
    'webpush',
    [...browsers, permanent.webpush].map((b) => ({ address: b.endpoint, keys: b.keys })),
  );
  const endpoint = await deps.store.webhooks.create({
    name: '防災ポータル',
    url: receiver.url('/storm'),
    topics: ['disaster'],
    areas: [],
    minSeverity: 'info',
    createdBy: 'test',
  });
  receiver.setSecret(endpoint.secret);

  const workers: RunningWorkers = startWorkers(deps);
  const fakes = { mail: sink, line, webpush: push, webhook: receiver, x } as const;

  const received = (noticeId: string, title: string): Record<StormChannel, Map<string, number>> => {
    const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
    const mail = new Map<string, number>();
    for (const m of sink.messages) {
      if (!String(m.parsed.headers.get('x-hibiki-notice') ?? '').startsWith(`${noticeId};`)) continue;
      for (const r of m.envelope.rcptTo) count(mail, r);
    }
    const lineGot = new Map<string, number>();
    for (const userId of [...userIds, permanent.line]) {
      const n = line.deliveriesTo(userId).filter((d) => JSON.stringify(d.messages).includes(title)).length;
      if (n > 0) lineGot.set(userId, n);
    }
    const pushGot = new Map<string, number>();
    for (const m of push.messages) {
      if ((m.json as { tag?: string } | undefined)?.tag === `hibiki-${noticeId}`) count(pushGot, m.subscription);
    }
    const hook = new Map<string, number>();
    for (const d of receiver.deliveries) if (d.body.includes(noticeId)) count(hook, d.path);
    const posts = new Map<string, number>();
    for (const p of x.posts) if (p.text.includes(title)) count(posts, 'post');
    return { mail, line: lineGot, webpush: pushGot, webhook: hook, x: posts };
  };

  const live = {
    mail: emails,
    line: userIds,
    webpush: browsers.map((b) => b.id),
    webhook: ['/storm'],
  };

  return {
    deps,
    sink,
    line,
    push,
    x,
    receiver,
    permanent,
    live,
    setPhase(phase, randomFor) {
      for (const [id, fake] of Object.entries(fakes) as [StormChannel, (typeof fakes)[StormChannel]][]) {
        fake.storm.set(phase.kind === 'errors' && randomFor ? { ...phase, random: randomFor(id) } : phase);
      }
    },
    received,
    async figures(noticeId, title) {
      const counts = await deps.store.deliveries.counts(noticeId);
      const got = received(noticeId, title);
      const out = {} as Record<StormChannel, StormFigures>;
      for (const channel of STORM_CHANNELS) {
        const keys = channel === 'x' ? ['post'] : live[channel];
        const times = got[channel];
        const t = tally(counts, channel);
        out[channel] = {
          expected: keys.length,
          sent: t.sent,
          failed: t.failed,
          lost: Math.max(keys.filter((k) => !times.has(k)).length, keys.length - t.sent),
          duplicated: [...times.values()].reduce((sum, n) => sum + n - 1, 0),
        };
      }
      return out;
    },
    async close() {
      for (const fake of Object.values(fakes)) fake.storm.set({ kind: 'calm' });
      await workers.close();
      await deps.dispose();
      await Promise.all([sink.close(), line.close(), push.close(), x.close(), receiver.close()]);
    },
  };
}
