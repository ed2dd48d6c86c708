import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import {
  type Channel,
  ChannelError,
  type Recipient,
  type RecipientResult,
  type SendContext,
} from '../../channels/types.ts';
import { PUSH_LIMITS, pushTopic, renderPush } from '../../channels/webpush/push-payload.ts';
import { createWebPushChannel, type PushPayload } from '../../channels/webpush/webpush-channel.ts';
import type { NoticeView } from '../../src/domain/notice.ts';
import { type BrowserSubscription, type PushService, startPushService } from '../fakes/push-service.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';

const SUBJECT = 'mailto:bousai@city.example.jp';
const vapid = webpush.generateVAPIDKeys();

let service: PushService;
let channel: Channel<PushPayload>;
const keys = new Map<number, { p256dh: string; auth: string }>();
const logLines: string[] = [];
let nextId = 1;

function makeChannel(overrides: Partial<Parameters<typeof createWebPushChannel>[0]> = {}) {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  return createWebPushChannel(
    {
      vapid,
      subject: SUBJECT,
      ttlSeconds: 3_600,
      agent: service.agent(),
      allowedHosts: ['127.0.0.1'],
      allow: ['127.0.0.1/32'],
      ...overrides,
    },
    { logger: pino({ level: 'debug' }, sink), keysOf: async (id) => keys.get(id) },
  );
}

/** A browser subscribed with our VAPID key (or another's), and the recipient row the worker would make for it. */
function subscriber(applicationServerKey = vapid.publicKey): { sub: BrowserSubscription; to: Recipient } {
  const id = nextId++;
  const sub = service.subscribe({ applicationServerKey });
  keys.set(id, sub.keys);
  return { sub, to: { deliveryId: id, contactId: id, address: sub.endpoint, locale: 'ja' } };
}

function context(notice: NoticeView): SendContext {
  return {
    deliveryKey: `${notice.id}-r${notice.revision}-webpush-0`,
    attempt: 1,
    signal: new AbortController().signal,
    notice,
  };
}

async function send(
  notice: NoticeView,
  to: Recipient[],
  ch: Channel<PushPayload> = channel,
): Promise<RecipientResult[]> {
  return ch.send(ch.render(notice, to[0]?.locale ?? 'ja'), to, context(notice));
}

const emergency = makeNoticeView({
  id: 'n01emergencyflood00000000a',
  title: '【警戒レベル4】菊池川流域に避難指示',
  body: '菊池川の水位が上がっています。\n\n流域の方は直ちに避難してください。',
  severity: 'emergency',
  category: '避難情報',
});

beforeAll(async () => {
  service = await startPushService();
  channel = makeChannel();
});
afterAll(async () => {
  await channel.close?.();
  await service.close();
});
beforeEach(() => {
  service.reset();
  logLines.length = 0;
});

describe('webpush channel: what the phone shows', () => {
  it('the payload the push service decrypts is exactly what render() made, signed with our VAPID key', async () => {
    const notice = makeNoticeView();
    const { sub, to } = subscriber();
    const results = await send(notice, [to]);
    expect(results).toEqual([{ deliveryId: to.deliveryId, status: 'sent', providerId: expect.any(String) }]);

    const [message] = service.messagesFor(sub.endpoint);
    const rendered = channel.render(notice, 'ja');
    expect(message?.text).toBe(rendered.json);
    expect(message?.json).toEqual(rendered.notification);
    expect(message?.json).toEqual({
      title: '避難所の開設について',
      body: '本日19時より、市内の避難所を開設しました。\n避難の際は、食料と水をお持ちください。\n開設した避難所は、市のウェブページでご確認ください。',
      severity: 'info',
      url: notice.pageUrl,
      tag: `hibiki-${notice.id}`,
      renotify: false,
      requireInteraction: false,
      icon: 'https://hibiki.example.jp/push/icon-192.png',
      badge: 'https://hibiki.example.jp/push/badge-96.png',
      lang: 'ja',
      noticeId: notice.id,
      revision: 1,
      kind: 'alert',
      timestamp: notice.sentAt.getTime(),
    });
    // RFC 8292: aud is the push service's origin, exp within a day, sub our contact, k our key.
    const now = Math.floor(Date.now() / 1000);
    expect(message?.vapid).toMatchObject({ aud: service.origin, sub: SUBJECT, key: vapid.publicKey });
    expect(message?.vapid.exp).toBeGreaterThan(now);
    expect(message?.vapid.exp).toBeLessThanOrEqual(now + 24 * 60 * 60);
    expect(service.requests.map((r) => r.status)).toEqual([201]);
  });

  it('marks emergencies, corrections, cancellations and drills in the title, in each locale', async () => {
    const correction = { ...emergency, revision: 2, kind: 'update' as const, mode: 'exercise' as const };
    expect(channel.render(correction, 'ja').notification.title).toBe(
      '【訓練】【緊急】【訂正】【警戒レベル4】菊池川流域に避難指示',
    );
    expect(channel.render(correction, 'en').notification.title).toBe(
      '[DRILL] [EMERGENCY] [CORRECTION] 【警戒レベル4】菊池川流域に避難指示',
    );
    expect(channel.render(correction, 'en').notification.lang).toBe('en');
    const cancel = { ...emergency, revision: 3, kind: 'cancel' as const, body: '誤って配信しました。' };
    expect(channel.render(cancel, 'ja').notification).toMatchObject({
      title: '【緊急】【取消】【警戒レベル4】菊池川流域に避難指示',
      body: '誤って配信しました。',
    });
  });

  it('cuts a long notice at a sentence or grapheme boundary and stays under the 4 KB limit once encrypted', async () => {
    const long = makeNoticeView({
      id: 'n01longnotice0000000000000',
      title: '避難所🏫の開設と運営について（第二報）'.repeat(10),
      body: `${'市内の全ての避難所を開設しました。👨‍👩‍👧‍👦家族で避難してください。'.repeat(300)}`,
    });
    const rendered = channel.render(long, 'ja');
    const { title, body } = rendered.notification;
    expect(Array.from(new Intl.Segmenter('ja', { granularity: 'grapheme' }).segment(title)).length).toBeLessThanOrEqual(
      80,
    );
    expect(title.endsWith('…')).toBe(true);
    // The cut falls after a full sentence, and never splits the family emoji.
    expect(body).toMatch(/。…$/);
    expect(body.split('👨‍👩‍👧‍👦').length - 1).toBe((body.match(/家族/g) ?? []).length);
    expect(Buffer.byteLength(rendered.json)).toBeLessThanOrEqual(PUSH_LIMITS.plaintextBytes);

    const { sub, to } = subscriber();
    expect((await send(long, [to]))[0]?.status).toBe('sent');
    const [message] = service.messagesFor(sub.endpoint);
    expect(message?.encryptedBytes).toBeLessThanOrEqual(PUSH_LIMITS.encryptedBytes);
    expect(message?.text).toBe(rendered.json);
  });

  it('a page URL of kilobytes shrinks the text instead of failing the send', () => {
    const huge = makeNoticeView({ pageUrl: `https://hibiki.example.jp/notices/${'x'.repeat(3_400)}` });
    const rendered = renderPush(huge, 'ja', 3_600);
    expect(Buffer.byteLength(rendered.json)).toBeLessThanOrEqual(PUSH_LIMITS.plaintextBytes);
    expect(rendered.notification.url).toBe(huge.pageUrl);
    expect(rendered.notification.body.length).toBeLessThan(
      channel.render(makeNoticeView(), 'ja').notification.body.length,
    );
  });
});

describe('webpush channel: headers', () => {
  it('sends an emergency with urgency high and a TTL of at least a day, a routine notice with normal and the configured TTL', async () => {
    const { sub, to } = subscriber();
    await send(emergency, [to]);
    await send(makeNoticeView({ id: 'n01routine0000000000000000' }), [to]);
    const [urgent, routine] = service.messagesFor(sub.endpoint);
    expect(urgent).toMatchObject({ urgency: 'high' });
    expect(urgent?.ttl).toBeGreaterThanOrEqual(24 * 60 * 60);
    expect(routine).toMatchObject({ urgency: 'normal', ttl: 3_600 });
  });

  it('never keeps a message past the notice’s expiry', async () => {
    const { sub, to } = subscriber();
    const soon = { ...emergency, expiresAt: new Date(Date.now() + 600_000) };
    await send(soon, [to]);
    const ttl = service.messagesFor(sub.endpoint)[0]?.ttl ?? -1;
    expect(ttl).toBeGreaterThan(500);
    expect(ttl).toBeLessThanOrEqual(600);
  });

  it('gives every revision of a notice the same Topic (≤ 32 base64url), and another notice another', async () => {
    const { sub, to } = subscriber();
    const first = makeNoticeView({ id: 'n01topic000000000000000000' });
    const earlier = [{ revision: 1, capIdentifier: first.capIdentifier, sentAt: first.sentAt }];
    const correction = { ...first, revision: 2, kind: 'update' as const, earlier };
    const cancel = { ...first, revision: 3, kind: 'cancel' as const, earlier };
    for (const n of [first, correction, cancel]) await send(n, [to]);
    await send(makeNoticeView({ id: 'n01othertopic0000000000000' }), [to]);
    const topics = service.messagesFor(sub.endpoint).map((m) => m.topic);
    expect(topics).toHaveLength(4);
    expect(new Set(topics.slice(0, 3)).size).toBe(1);
    expect(topics[0]).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(topics[0]).toBe(pushTopic(first.id));
    expect(topics[3]).not.toBe(topics[0]);
    // …and the same tag, so the phone replaces the earlier notification.
    const tags = service.messagesFor(sub.endpoint).map((m) => (m.json as { tag: string }).tag);
    expect(new Set(tags.slice(0, 3)).size).toBe(1);
  });
});

describe('webpush channel: what each answer means', () => {
  it('404 and 410: failed, and the contact is switched off; the reason names the service, never the endpoint', async () => {
    const gone = subscriber();
    const missing = subscriber();
    const fine = subscriber();
    service.expire(gone.sub.endpoint);
    service.answer(missing.sub.endpoint, 404);
    const results = await send(makeNoticeView(), [gone.to, missing.to, fine.to]);
    const byId = new Map(results.map((r) => [r.deliveryId, r]));
    expect(byId.get(gone.to.deliveryId)).toMatchObject({
      status: 'failed',
      deactivate: true,
      reason: expect.stringContaining('HTTP 410'),
    });
    expect(byId.get(missing.to.deliveryId)).toMatchObject({
      status: 'failed',
      deactivate: true,
      reason: expect.stringContaining('HTTP 404'),
    });
    expect(byId.get(fine.to.deliveryId)?.status).toBe('sent');
    for (const r of results) if (r.status === 'failed') expect(r.reason).not.toContain(gone.sub.id);
    expect(byId.get(gone.to.deliveryId)).toMatchObject({ reason: expect.stringContaining('127.0.0.1') });
  });

  it('429 with Retry-After and 5xx: retry, with the wait the service asked for', async () => {
    const busy = subscriber();
    const broken = subscriber();
    service.answer(busy.sub.endpoint, 429, { count: 1, headers: { 'retry-after': '30' } });
    service.answer(broken.sub.endpoint, 500, { count: 1 });
    const notice = makeNoticeView();
    const results = await send(notice, [busy.to, broken.to]);
    expect(results).toEqual([
      {
        deliveryId: busy.to.deliveryId,
        status: 'retry',
        reason: expect.stringContaining('HTTP 429'),
        retryAfterMs: 30_000,
        rateLimited: true,
      },
      // The push service is down, not the subscription: waited out without spending attempts.
      {
        deliveryId: broken.to.deliveryId,
        status: 'retry',
        reason: expect.stringContaining('HTTP 500'),
        unreachable: true,
      },
    ]);
    // The next attempt goes through.
    expect((await send(notice, [busy.to, broken.to])).map((r) => r.status)).toEqual(['sent', 'sent']);
  });

  it('a wrong VAPID key (the subscription was made with another): failed with the reason, not switched off', async () => {
    const other = webpush.generateVAPIDKeys();
    const { to } = subscriber(other.publicKey);
    const [result] = await send(makeNoticeView(), [to]);
    expect(result).toMatchObject({ status: 'failed', reason: expect.stringMatching(/HTTP 403.*VAPID/) });
    expect(result && 'deactivate' in result).toBe(false);
    expect(service.requests[0]?.refused).toMatch(/applicationServerKey/);
  });

  it('a JWT the push service cannot verify (401): failed, naming the VAPID settings', async () => {
    const { to } = subscriber();
    // A channel holding a public key that does not belong to its private key signs JWTs that k= cannot verify.
    const other = webpush.generateVAPIDKeys();
    const mismatched = makeChannel({ vapid: { publicKey: vapid.publicKey, privateKey: other.privateKey } });
    const [result] = await send(makeNoticeView(), [to], mismatched);
    await mismatched.close?.();
    expect(result).toMatchObject({ status: 'failed', reason: expect.stringContaining('VAPID_PRIVATE_KEY') });
    expect(service.requests[0]).toMatchObject({ status: 401, refused: expect.stringContaining('signature') });
  });

  it('413: failed, and the reason says it is a bug in the rendering', async () => {
    const { sub, to } = subscriber();
    service.answer(sub.endpoint, 413);
    const [result] = await send(makeNoticeView(), [to]);
    expect(result).toMatchObject({ status: 'failed', reason: expect.stringMatching(/HTTP 413.*bug/) });
  });

  it('a push service that cannot be reached: retry, naming the host and what failed in words, not the socket code', async () => {
    const { to } = subscriber();
    const [result] = await send(makeNoticeView(), [{ ...to, address: 'https://127.0.0.1:1/push/nowhere' }]);
    expect(result).toMatchObject({
      status: 'retry',
      unreachable: true,
      reason: expect.stringMatching(/^接続できませんでした \/ could not connect to 127\.0\.0\.1:1 /),
    });
    expect((result as { reason: string }).reason).not.toContain('ECONNREFUSED');
  });

  it('a subscription removed before sending, or an endpoint off the list of push services: failed, nothing sent', async () => {
    const { sub, to } = subscriber();
    keys.delete(to.contactId as number);
    const [removed] = await send(makeNoticeView(), [to]);
    expect(removed).toMatchObject({ status: 'failed', reason: expect.stringContaining('removed') });
    const [offList] = await send(makeNoticeView(), [
      { ...subscriber().to, address: 'https://intranet.city.example/push/1' },
    ]);
    expect(offList).toMatchObject({ status: 'failed', reason: expect.stringContaining('not supported') });
    expect(service.requests).toHaveLength(0);
    expect(service.messagesFor(sub.endpoint)).toHaveLength(0);
  });

  it('refuses unusable VAPID keys at start-up, naming the settings', () => {
    expect(() =>
      createWebPushChannel(
        { vapid: { publicKey: 'short', privateKey: 'short' }, subject: SUBJECT, ttlSeconds: 60 },
        { logger: pino({ level: 'silent' }), keysOf: async () => undefined },
      ),
    ).toThrow(/VAPID_PUBLIC_KEY/);
  });
});

describe('webpush channel: sending a batch', () => {
  it('sends a batch in parallel, at most `concurrency` at once, over kept-alive connections', async () => {
    const limited = makeChannel({ concurrency: 5, agent: service.agent() });
    service.setDelay(30);
    const batch = Array.from({ length: 30 }, () => subscriber());
    const reported: RecipientResult[] = [];
    const notice = makeNoticeView();
    const results = await limited.send(
      limited.render(notice, 'ja'),
      batch.map((b) => b.to),
      {
        ...context(notice),
        onResult: (r) => reported.push(r),
      },
    );
    await limited.close?.();
    expect(results.every((r) => r.status === 'sent')).toBe(true);
    expect(results.map((r) => r.deliveryId)).toEqual(batch.map((b) => b.to.deliveryId));
    expect(reported).toHaveLength(30);
    expect(service.messages).toHaveLength(30);
    expect(service.maxInFlight).toBe(5);
    expect(service.connections).toBeLessThanOrEqual(5);
  });

  it('reads the keys of a batch in one call when the store offers it; a store that fails is a retryable ChannelError', async () => {
    const calls: number[][] = [];
    const batch = Array.from({ length: 12 }, () => subscriber());
    const many = async (ids: number[]) => {
      calls.push(ids);
      return new Map(
        ids.flatMap((id) => (keys.has(id) ? [[id, keys.get(id) as { p256dh: string; auth: string }]] : [])),
      );
    };
    const deps = { logger: pino({ level: 'silent' }), keysOf: async () => undefined, keysOfMany: many };
    const options = {
      vapid,
      subject: SUBJECT,
      ttlSeconds: 60,
      agent: service.agent(),
      allowedHosts: ['127.0.0.1'],
      allow: ['127.0.0.1/32'],
    };
    const batched = createWebPushChannel(options, deps);
    const results = await send(
      makeNoticeView(),
      batch.map((b) => b.to),
      batched,
    );
    expect(results.every((r) => r.status === 'sent')).toBe(true);
    expect(calls).toEqual([batch.map((b) => b.to.contactId)]);

    const down = createWebPushChannel(options, {
      ...deps,
      keysOfMany: async () => {
        throw new Error('database is locked');
      },
    });
    await expect(send(makeNoticeView(), [subscriber().to], down)).rejects.toSatisfy(
      (err) => err instanceof ChannelError && err.kind === 'retryable' && /database is locked/.test(err.message),
    );
    await batched.close?.();
    await down.close?.();
  });

  it('never logs an endpoint or a key', async () => {
    const ok = subscriber();
    const gone = subscriber();
    service.expire(gone.sub.endpoint);
    await send(makeNoticeView(), [ok.to, gone.to]);
    const logs = logLines.join('\n');
    expect(logs).toContain('webpush batch finished');
    expect(logs).toContain('push not delivered');
    for (const s of [ok.sub, gone.sub]) {
      expect(logs).not.toContain(s.id);
      expect(logs).not.toContain(s.keys.p256dh);
      expect(logs).not.toContain(s.keys.auth);
    }
    expect(logs).not.toContain(vapid.privateKey);
  });
});
