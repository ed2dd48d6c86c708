import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import type { Recipient, SendContext } from '../../channels/types.ts';
import { createWebPushChannel } from '../../channels/webpush/webpush-channel.ts';
import { type PushService, startPushService } from '../fakes/push-service.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';

/**
 * What keeps a fan-out of tens of thousands of pushes cheap, as the push service sees it:
 * one VAPID JWT per push service, reused until it is renewed (signing one costs more than
 * encrypting the message), and connections kept alive from one batch to the next (a TLS
 * handshake per push would cost more still). The fake checks every JWT as a real service does.
 */

const SUBJECT = 'mailto:bousai@city.example.jp';
const vapid = webpush.generateVAPIDKeys();
const notice = makeNoticeView();
const silent = pino({ level: 'silent' });

let service: PushService;
const keys = new Map<number, { p256dh: string; auth: string }>();
let nextId = 1;

function recipients(n: number): Recipient[] {
  return Array.from({ length: n }, () => {
    const id = nextId++;
    const sub = service.subscribe({ applicationServerKey: vapid.publicKey });
    keys.set(id, sub.keys);
    return { deliveryId: id, contactId: id, address: sub.endpoint, locale: 'ja' as const };
  });
}

function context(batch: number): SendContext {
  return { deliveryKey: `${notice.id}-r1-webpush-${batch}`, attempt: 1, signal: new AbortController().signal, notice };
}

beforeAll(async () => {
  service = await startPushService();
});
afterAll(async () => {
  await service.close();
});

describe('webpush channel: what it reuses across a fan-out', () => {
  it('signs one VAPID JWT and reuses it for every push of several batches', async () => {
    const channel = createWebPushChannel(
      {
        vapid,
        subject: SUBJECT,
        ttlSeconds: 3_600,
        agent: service.agent(),
        allowedHosts: ['127.0.0.1'],
        allow: ['127.0.0.1/32'],
      },
      { logger: silent, keysOf: async (id) => keys.get(id) },
    );
    const tokensBefore = service.vapidTokens;
    const rendered = channel.render(notice, 'ja');
    for (let batch = 0; batch < 3; batch++) {
      const results = await channel.send(rendered, recipients(10), context(batch));
      expect(results.every((r) => r.status === 'sent')).toBe(true);
    }
    await channel.close?.();
    expect(service.messages).toHaveLength(30);
    expect(service.vapidTokens - tokensBefore).toBe(1);
    const exps = new Set(service.messages.map((m) => m.vapid.exp));
    expect(exps.size).toBe(1);
  });

  it('renews the JWT after half an hour, long before it expires, and every JWT stays within 24 hours', async () => {
    let now = Date.now();
    const channel = createWebPushChannel(
      {
        vapid,
        subject: SUBJECT,
        ttlSeconds: 3_600,
        agent: service.agent(),
        allowedHosts: ['127.0.0.1'],
        allow: ['127.0.0.1/32'],
      },
      { logger: silent, keysOf: async (id) => keys.get(id), now: () => new Date(now) },
    );
    service.reset();
    const tokensBefore = service.vapidTokens;
    const rendered = channel.render(notice, 'ja');
    const sendAt = async (batch: number) => {
      const results = await channel.send(rendered, recipients(3), context(batch));
      expect(results.every((r) => r.status === 'sent')).toBe(true);
      return service.messages.slice(-3).map((m) => m.vapid.exp);
    };

    const first = await sendAt(0);
    now += 29 * 60 * 1000;
    const stillFirst = await sendAt(1);
    expect(service.vapidTokens - tokensBefore).toBe(1);
    expect(stillFirst).toEqual(first);

    now += 2 * 60 * 1000;
    const renewed = await sendAt(2);
    await channel.close?.();
    expect(service.vapidTokens - tokensBefore).toBe(2);
    // 31 minutes later than the first: the new JWT expires that much later.
    expect((renewed[0] as number) - (first[0] as number)).toBeGreaterThanOrEqual(31 * 60 - 1);
    const realNow = Date.now() / 1000;
    for (const exp of [...first, ...renewed]) {
      // The fake refused any JWT expiring more than 24 h ahead; these leave hours to spare either way.
      expect(exp).toBeGreaterThan(realNow + 11 * 60 * 60);
      expect(exp).toBeLessThanOrEqual(realNow + 24 * 60 * 60);
    }
  });

  it('keeps its connections alive from one batch to the next: no new TLS handshake per batch', async () => {
    const concurrency = 4;
    const channel = createWebPushChannel(
      {
        vapid,
        subject: SUBJECT,
        ttlSeconds: 3_600,
        agent: service.agent(),
        allowedHosts: ['127.0.0.1'],
        allow: ['127.0.0.1/32'],
        concurrency,
      },
      { logger: silent, keysOf: async (id) => keys.get(id) },
    );
    service.reset();
    const rendered = channel.render(notice, 'ja');
    await channel.send(rendered, recipients(20), context(0));
    const afterFirst = service.connections;
    expect(afterFirst).toBeLessThanOrEqual(concurrency);
    for (let batch = 1; batch <= 3; batch++) await channel.send(rendered, recipients(20), context(batch));
    await channel.close?.();
    expect(service.requests.filter((r) => r.status === 201)).toHaveLength(80);
    expect(service.connections).toBe(afterFirst);
  });
});
