import { createServer } from 'node:net';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../channels/shared/retry-after.ts';
import type { Recipient, RecipientResult, SendContext } from '../../channels/types.ts';
import type { WebhookEvent } from '../../channels/webhook/payload.ts';
import { secretKey, signWebhook } from '../../channels/webhook/sign.ts';
import { hostOf, isLoopbackHost, webhookUrlProblem } from '../../channels/webhook/url-policy.ts';
import {
  createWebhookChannel,
  WEBHOOK_USER_AGENT,
  type WebhookDeps,
  type WebhookOptions,
} from '../../channels/webhook/webhook-channel.ts';
import type { NoticeView } from '../../src/domain/notice.ts';
import { makeWebhookSecret } from '../../src/store/webhook-endpoints.ts';
import { recomputeSignature, startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook-receiver.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';

const SECRET = makeWebhookSecret();
const logLines: string[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });

let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver({ secret: SECRET });
});
afterEach(() => {
  expect(receiver.disagreements).toEqual([]);
  receiver.reset();
  receiver.setSecret(SECRET);
});
afterAll(async () => {
  await receiver.close();
});

function channel(options: Partial<WebhookOptions> = {}, deps: Partial<WebhookDeps> = {}) {
  return createWebhookChannel(
    { timeoutMs: 2_000, allowHttpLoopback: true, ...options },
    { logger, secretOf: async () => SECRET, ...deps },
  );
}

function endpoint(id: number, address = receiver.url(`/hooks/${id}`)): Recipient {
  return { deliveryId: id, contactId: id, address, locale: 'ja' };
}

function context(notice: NoticeView, overrides: Partial<SendContext> = {}): SendContext & { seen: RecipientResult[] } {
  const seen: RecipientResult[] = [];
  return {
    deliveryKey: `${notice.id}-r${notice.revision}-webhook-0`,
    attempt: 1,
    signal: new AbortController().signal,
    notice,
    onResult: (r) => seen.push(r),
    seen,
    ...overrides,
  };
}

async function sendTo(recipients: Recipient[], options: Partial<WebhookOptions> = {}, deps: Partial<WebhookDeps> = {}) {
  const view = makeNoticeView();
  const ch = channel(options, deps);
  const ctx = context(view);
  const results = await ch.send(ch.render(view, 'ja'), recipients, ctx);
  return { results, ctx, view, ch };
}

/** A port nothing listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

describe('webhook signing', () => {
  it('signs each request so that standardwebhooks and an independent recomputation both verify it', async () => {
    const { results, ctx } = await sendTo([endpoint(1), endpoint(2)]);
    expect(results.map((r) => r.status)).toEqual(['sent', 'sent']);
    expect(ctx.seen).toHaveLength(2);
    expect(receiver.deliveries).toHaveLength(2);
    for (const d of receiver.deliveries) {
      // Checked again here, outside the receiver: the library verifies and returns the payload…
      expect(new Webhook(SECRET).verify(d.body, d.headers)).toEqual(JSON.parse(d.body));
      // …and HMAC-SHA256 over id.timestamp.body with the base64-decoded key gives the same signature.
      expect(d.signature).toBe(`v1,${recomputeSignature(SECRET, d.webhookId, String(d.timestamp), d.body)}`);
      expect(d.headers['content-type']).toBe('application/json');
      expect(d.headers['user-agent']).toBe(WEBHOOK_USER_AGENT);
      expect(Math.abs(d.timestamp - Date.now() / 1000)).toBeLessThan(60);
      expect(d.webhookId).toMatch(/^msg_[A-Za-z0-9_-]{32}$/);
    }
    expect(new Set(receiver.deliveries.map((d) => d.webhookId)).size).toBe(2);
  });

  it('is refused by the receiver when signed with another secret or too long ago', async () => {
    // With the wrong secret: 401, nothing recorded, and the channel reports a permanent failure saying why.
    const { results } = await sendTo([endpoint(1)], {}, { secretOf: async () => makeWebhookSecret() });
    expect(results[0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/HTTP 401.*current secret/) });
    expect(receiver.requests[0]?.refused).toBe('No matching signature found');
    // A timestamp older than 5 minutes: both verifications refuse it.
    const old = await sendTo([endpoint(2)], {}, { now: () => new Date(Date.now() - 6 * 60 * 1000) });
    expect(old.results[0]).toMatchObject({ status: 'failed' });
    expect(receiver.requests[1]?.refused).toBe('Message timestamp too old');
    expect(receiver.deliveries).toHaveLength(0);
  });

  it('signs with the bytes of the key after whsec_, as Standard Webhooks does', () => {
    const key = secretKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const body = '{"test": 2432232314}';
    // The example of the Standard Webhooks reference libraries.
    expect(signWebhook(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body)).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
    expect(() => secretKey('whsec_')).toThrow();
  });

  it('keeps webhook-id the same across retries of one delivery and different between deliveries', async () => {
    const view = makeNoticeView();
    const ch = channel();
    const payload = ch.render(view, 'ja');
    receiver.failNext(1, 503);
    const first = await ch.send(payload, [endpoint(7), endpoint(8)], context(view));
    expect(first.map((r) => r.status).sort()).toEqual(['retry', 'sent']);
    const retried = first.find((r) => r.status === 'retry');
    const again = await ch.send(payload, [endpoint(retried?.deliveryId ?? 0)], context(view, { attempt: 2 }));
    expect(again.map((r) => r.status)).toEqual(['sent']);

    const byPath = (path: string) => receiver.requests.filter((r) => r.path === path);
    const retriedRequests = byPath(`/hooks/${retried?.deliveryId}`);
    expect(retriedRequests.map((r) => r.status)).toEqual([503, 204]);
    expect(retriedRequests[0]?.webhookId).toBe(retriedRequests[1]?.webhookId);
    const other = byPath(`/hooks/${retried?.deliveryId === 7 ? 8 : 7}`);
    expect(other[0]?.webhookId).not.toBe(retriedRequests[0]?.webhookId);
    // Another batch of the same revision, or another revision, gives other ids.
    await ch.send(payload, [endpoint(7)], context(view, { deliveryKey: `${view.id}-r2-webhook-0` }));
    const ids = receiver.requests.map((r) => r.webhookId);
    expect(new Set(ids).size).toBe(3);
  });
});

describe('webhook outcomes', () => {
  it('retries 503, 502 and 408, and honours Retry-After in seconds and as a date', async () => {
    receiver.failNext(1, 503, { 'retry-after': '7' });
    const a = await sendTo([endpoint(1)]);
    expect(a.results[0]).toMatchObject({
      status: 'retry',
      unreachable: true,
      retryAfterMs: 7_000,
      reason: expect.stringMatching(/^HTTP 503 from 127\.0\.0\.1:\d+/),
    });

    const at = new Date(Date.now() + 30_000).toUTCString();
    receiver.failNext(1, 502, { 'retry-after': at });
    const b = await sendTo([endpoint(1)]);
    expect(b.results[0]?.status).toBe('retry');
    const ms = (b.results[0] as { retryAfterMs?: number }).retryAfterMs ?? 0;
    expect(ms).toBeGreaterThan(25_000);
    expect(ms).toBeLessThanOrEqual(30_000);

    receiver.failNext(1, 408);
    const c = await sendTo([endpoint(1)]);
    // The receiver is down, not the delivery at fault: the worker waits for it without spending attempts.
    expect(c.results[0]).toEqual({
      deliveryId: 1,
      status: 'retry',
      reason: expect.stringContaining('HTTP 408'),
      unreachable: true,
    });
  });

  it('retries a 429 no sooner than its Retry-After', async () => {
    receiver.failNext(1, 429, { 'retry-after': '120' });
    const { results } = await sendTo([endpoint(1)]);
    expect(results[0]).toMatchObject({
      status: 'retry',
      retryAfterMs: 120_000,
      reason: expect.stringContaining('HTTP 429'),
    });
    // The webhook channel caps a Retry-After at an hour.
    expect(retryAfterMs('86400000', new Date(), 60 * 60 * 1000)).toBe(60 * 60 * 1000);
    expect(retryAfterMs('soon', new Date())).toBeUndefined();
  });

  it('retries an endpoint that does not answer within the timeout, and one that cannot be reached', async () => {
    receiver.setDelay(1_500);
    const slow = await sendTo([endpoint(1)], { timeoutMs: 200 });
    expect(slow.results[0]).toMatchObject({ status: 'retry', unreachable: true });

    const port = await closedPort();
    const down = await sendTo([endpoint(2, `http://127.0.0.1:${port}/hook`)]);
    // A closed port and a silent one read the same: reasons must not tell an author which ports are open.
    const words = (host: string) => `接続できませんでした / could not connect to ${host} or got no answer`;
    expect(down.results[0]).toMatchObject({
      status: 'retry',
      unreachable: true,
      reason: expect.stringContaining(words(`127.0.0.1:${port}`)),
    });
    expect(slow.results[0]).toMatchObject({ reason: expect.stringContaining(words(hostOf(receiver.url('/')))) });
  });

  it('fails 404 and 400 for good with the status, never what the receiver said; 410 also switches the endpoint off', async () => {
    receiver.failNext(1, 404);
    const a = await sendTo([endpoint(1)]);
    expect(a.results[0]).toEqual({
      deliveryId: 1,
      status: 'failed',
      reason: expect.stringMatching(/^HTTP 404 from 127\.0\.0\.1:\d+$/),
    });
    receiver.failNext(1, 410);
    const b = await sendTo([endpoint(1)]);
    expect(b.results[0]).toMatchObject({
      status: 'failed',
      deactivate: true,
      reason: expect.stringContaining('HTTP 410'),
    });
    receiver.failNext(1, 400);
    const c = await sendTo([endpoint(1)]);
    expect(c.results[0]).toMatchObject({ status: 'failed', reason: expect.stringContaining('HTTP 400') });
    expect(c.results[0]).not.toHaveProperty('deactivate');
  });

  it('never follows a redirect: a 3xx fails for good, naming where it pointed', async () => {
    const elsewhere = await startWebhookReceiver({ secret: SECRET });
    try {
      for (const status of [301, 302, 307, 308]) {
        receiver.redirect(elsewhere.url('/moved'), status);
        const { results } = await sendTo([endpoint(1)]);
        expect(results[0]).toMatchObject({
          status: 'failed',
          reason: expect.stringMatching(
            new RegExp(`^HTTP ${status} from 127\\.0\\.0\\.1:\\d+: redirect to 127\\.0\\.0\\.1:\\d+ not followed`),
          ),
        });
      }
      expect(elsewhere.requests).toHaveLength(0);
      expect(receiver.requests).toHaveLength(4);
    } finally {
      await elsewhere.close();
    }
  });

  it('refuses http:// to a host that is not loopback, and http:// at all unless allowed, without a request', async () => {
    const calls: string[] = [];
    const fakeFetch = (async (input: string | URL | Request) => {
      calls.push(String(input));
      return new Response(null, { status: 204 });
    }) as typeof fetch;
    const { results } = await sendTo(
      [
        endpoint(1, 'http://hooks.example.jp/hibiki'),
        endpoint(2, 'http://10.0.0.5/hook'),
        endpoint(3, 'ftp://hooks.example.jp/x'),
        endpoint(4, 'https://user:pass@hooks.example.jp/x'),
      ],
      { allowHttpLoopback: true },
      { fetch: fakeFetch },
    );
    expect(results.map((r) => r.status)).toEqual(['failed', 'failed', 'failed', 'failed']);
    expect(results[0]).toMatchObject({ reason: expect.stringContaining('http:// is allowed only to a loopback host') });
    const strict = await sendTo([endpoint(5)], { allowHttpLoopback: false }, { fetch: fakeFetch });
    expect(strict.results[0]).toMatchObject({
      status: 'failed',
      reason: 'endpoint URL refused: only https:// URLs are allowed',
    });
    expect(calls).toEqual([]);
  });

  it('sends to https endpoints, taking a request id from the answer when there is one', async () => {
    const seen: { url: string; init: RequestInit | undefined }[] = [];
    const fakeFetch = (async (input: string | URL | Request, init?: RequestInit) => {
      seen.push({ url: String(input), init });
      return new Response('ok', { status: 202, headers: { 'x-request-id': 'req-42' } });
    }) as typeof fetch;
    const { results } = await sendTo(
      [endpoint(1, 'https://cms.city.example.jp/hooks/hibiki?key=abc')],
      {},
      { fetch: fakeFetch },
    );
    expect(results).toEqual([{ deliveryId: 1, status: 'sent', providerId: 'req-42' }]);
    expect(seen[0]?.init).toMatchObject({ method: 'POST', redirect: 'manual' });
    expect(seen[0]?.init?.signal).toBeInstanceOf(AbortSignal);
    // Without one, the status stands in.
    const plain = await sendTo([endpoint(2)]);
    expect(plain.results[0]).toEqual({ deliveryId: 2, status: 'sent', providerId: 'HTTP 204' });
  });

  it('fails a delivery whose endpoint was removed, and retries one whose secret could not be read', async () => {
    const gone = await sendTo([endpoint(1)], {}, { secretOf: async () => undefined });
    expect(gone.results[0]).toEqual({
      deliveryId: 1,
      status: 'failed',
      reason: 'the webhook endpoint was removed before sending',
    });
    const storeDown = await sendTo(
      [endpoint(2)],
      {},
      {
        secretOf: async () => {
          throw new Error('connection refused');
        },
      },
    );
    expect(storeDown.results[0]).toMatchObject({
      status: 'retry',
      reason: expect.stringContaining('connection refused'),
    });
    expect(receiver.requests).toHaveLength(0);
  });

  it('stops at once when the job is aborted, leaving the endpoints to retry', async () => {
    receiver.setDelay(1_500);
    const view = makeNoticeView();
    const ch = channel({ timeoutMs: 10_000 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const results = await ch.send(ch.render(view, 'ja'), [endpoint(1)], context(view, { signal: abort.signal }));
    expect(results[0]).toMatchObject({ status: 'retry', reason: expect.stringContaining('aborted') });
    const again = await ch.send(ch.render(view, 'ja'), [endpoint(2)], context(view, { signal: abort.signal }));
    expect(again[0]).toMatchObject({ status: 'retry', reason: 'not sent: the send was aborted' });
  });

  it('logs hosts only: never the secret, the path or the query of an endpoint URL', async () => {
    logLines.length = 0;
    receiver.failNext(1, 500);
    await sendTo([endpoint(1, receiver.url('/private-path-token?key=query-secret'))]);
    const log = logLines.join('');
    expect(log).toContain('webhook batch finished');
    expect(log).toContain('webhook not delivered');
    expect(log).toContain('127.0.0.1');
    expect(log).not.toContain('private-path-token');
    expect(log).not.toContain('query-secret');
    expect(log).not.toContain(SECRET.slice(6));
  });
});

describe('webhook payload', () => {
  const parse = (view: NoticeView) => JSON.parse(channel().render(view, 'ja').body) as WebhookEvent;

  it('carries the notice revision, its areas by name, JST times and links to its page and CAP file', async () => {
    const view = makeNoticeView({
      severity: 'warning',
      category: '避難情報',
      areas: [{ code: '432105', name: '菊池市', nameEn: 'Kikuchi City' }],
      expiresAt: new Date('2026-11-27T03:00:00Z'),
      link: 'https://www.city.example.jp/bousai/',
    });
    const { results } = await sendTo([endpoint(1)]);
    expect(results[0]?.status).toBe('sent');
    const received = receiver.deliveries[0]?.payload as WebhookEvent;
    expect(received.type).toBe('notice.published');

    const event = parse(view);
    expect(event).toEqual({
      type: 'notice.published',
      timestamp: '2026-11-26T19:39:00+09:00',
      data: {
        notice: {
          id: view.id,
          revision: 1,
          kind: 'alert',
          title: '避難所の開設について',
          markedTitle: { ja: '避難所の開設について', en: '避難所の開設について' },
          body: view.body,
          severity: 'warning',
          category: '避難情報',
          mode: 'actual',
          topics: ['disaster', 'shelter'],
          areas: [{ code: '432105', name: '菊池市', nameEn: 'Kikuchi City' }],
          link: 'https://www.city.example.jp/bousai/',
          sentAt: '2026-11-26T19:39:00+09:00',
          expiresAt: '2026-11-27T12:00:00+09:00',
          capIdentifier: view.capIdentifier,
          earlier: [],
          sender: { name: '菊池市', nameEn: 'Kikuchi City' },
        },
        links: { page: view.pageUrl, cap: view.capUrl },
      },
    });
  });

  it('names corrections and cancellations, lists earlier revisions, and marks drills and emergencies', () => {
    const earlier = [
      { revision: 1, capIdentifier: 'jp-432105-hibiki-n1-r1', sentAt: new Date('2026-11-26T09:00:00Z') },
    ];
    const update = parse(makeNoticeView({ kind: 'update', revision: 2, earlier }));
    expect(update.type).toBe('notice.updated');
    expect(update.data.notice.earlier).toEqual([
      { revision: 1, capIdentifier: 'jp-432105-hibiki-n1-r1', sentAt: '2026-11-26T18:00:00+09:00' },
    ]);
    expect(update.data.notice.markedTitle.ja).toBe('【訂正】避難所の開設について');
    const cancel = parse(
      makeNoticeView({ kind: 'cancel', revision: 3, severity: 'emergency', mode: 'exercise', earlier }),
    );
    expect(cancel.type).toBe('notice.cancelled');
    expect(cancel.data.notice.mode).toBe('exercise');
    expect(cancel.data.notice.markedTitle).toEqual({
      ja: '【訓練】【緊急】【取消】避難所の開設について',
      en: '[DRILL] [EMERGENCY] [CANCELLED] 避難所の開設について',
    });
  });
});

describe('webhook URL policy', () => {
  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.10.0.3', '[::1]', 'localhost']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['10.0.0.1', '128.0.0.1', 'localhost.example.jp', '[::2]', '127.0.0.1.nip.io'])
      expect(isLoopbackHost(host)).toBe(false);
    expect(webhookUrlProblem('http://[::1]:8080/hook', true)).toBeUndefined();
    expect(webhookUrlProblem('https://hooks.example.jp/hook', false)).toBeUndefined();
    expect(webhookUrlProblem('not a url', true)?.en).toBe('not a valid URL');
  });
});
