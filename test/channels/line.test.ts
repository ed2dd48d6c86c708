import { messagingApi } from '@line/bot-sdk';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLineChannel, DEFAULT_RATE_LIMIT_MS, lineRetryKey } from '../../channels/line/line-channel.ts';
import {
  BUBBLE_BODY_CHARS,
  byteLength,
  LINE_LIMITS,
  type LineRendered,
  renderLineMessages,
} from '../../channels/line/line-message.ts';
import { ChannelError, type Recipient, type RecipientResult, type SendContext } from '../../channels/types.ts';
import { SEVERITY_COLOUR } from '../../src/domain/labels.ts';
import { LOCALES, type NoticeView, SEVERITIES } from '../../src/domain/notice.ts';
import { type LineFake, startLineFake } from '../fakes/line-api.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';
import { lineUserId } from './harness/line.ts';

const silent = pino({ level: 'silent' });

function recipients(n: number, from = 0, locale: 'ja' | 'en' = 'ja'): Recipient[] {
  return Array.from({ length: n }, (_, i) => ({
    deliveryId: from + i + 1,
    contactId: from + i + 1,
    address: lineUserId(from + i + 1),
    locale,
  }));
}

function ctx(
  notice: NoticeView,
  deliveryKey: string,
  attempt = 1,
  onResult?: (r: RecipientResult) => void,
): SendContext {
  return {
    deliveryKey,
    attempt,
    signal: new AbortController().signal,
    notice,
    ...(onResult ? { onResult } : {}),
  };
}

/** Every text a resident can read in a rendering, in order. */
function texts(rendered: LineRendered): string[] {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) for (const n of node) walk(n);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.type === 'text' && typeof o.text === 'string') out.push(o.text);
      for (const [k, v] of Object.entries(o)) if (k !== 'altText') walk(v);
    }
  };
  walk(rendered.messages);
  return out;
}

function firstButton(bubble: messagingApi.FlexBubble): messagingApi.FlexButton {
  const button = bubble.footer?.contents[0];
  if (button?.type !== 'button') throw new Error('the bubble has no button');
  return button;
}

function expectWithinLimits(rendered: LineRendered) {
  expect(rendered.messages.length).toBeGreaterThanOrEqual(1);
  expect(rendered.messages.length).toBeLessThanOrEqual(LINE_LIMITS.messagesPerRequest);
  expect(rendered.altText.length).toBeGreaterThan(0);
  expect(rendered.altText.length).toBeLessThanOrEqual(LINE_LIMITS.altTextChars);
  const [flex, ...rest] = rendered.messages;
  expect(flex?.type).toBe('flex');
  expect(byteLength(flex)).toBeLessThanOrEqual(LINE_LIMITS.bubbleBytes);
  for (const m of rest) {
    expect(m.type).toBe('text');
    const text = (m as messagingApi.TextMessage).text;
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThanOrEqual(LINE_LIMITS.textChars);
  }
}

describe('LINE rendering', () => {
  it('makes a Flex bubble with the marked title, the body, the severity in words and colour, and a button to the page', () => {
    const notice = makeNoticeView({ severity: 'emergency', mode: 'exercise', title: '避難指示（警戒レベル4）' });
    const r = renderLineMessages(notice, 'ja');
    expectWithinLimits(r);
    expect(r.messages).toHaveLength(1);
    const flex = r.messages[0] as messagingApi.FlexMessage;
    const bubble = flex.contents as messagingApi.FlexBubble;
    expect(bubble.header?.backgroundColor).toBe(SEVERITY_COLOUR.emergency);
    const all = texts(r);
    expect(all[0]).toBe('緊急 ・ 避難所情報');
    expect(all).toContain('【訓練】【緊急】避難指示（警戒レベル4）');
    expect(all).toContain(notice.body);
    expect(all.join('\n')).toContain('対象地域: 菊池市全域');
    expect(all.join('\n')).toContain('2026年11月26日 19時39分');
    const button = firstButton(bubble);
    expect(button.action).toEqual({ type: 'uri', label: '詳しく見る', uri: notice.pageUrl });
    expect(button.color).toBe(SEVERITY_COLOUR.emergency);
    expect(r.altText.startsWith('【訓練】【緊急】避難指示（警戒レベル4）\n本日19時より')).toBe(true);
  });

  it('renders English with English words around the staff text, and says what a correction corrects', () => {
    const notice = makeNoticeView({
      kind: 'update',
      revision: 2,
      severity: 'warning',
      earlier: [{ revision: 1, capIdentifier: 'x', sentAt: new Date('2026-11-26T09:00:00Z') }],
      areas: [{ code: '432105', name: '菊池市', nameEn: 'Kikuchi City' }],
    });
    const r = renderLineMessages(notice, 'en');
    const all = texts(r).join('\n');
    expect(all).toContain('Warning ・ Shelter information');
    expect(all).toContain('[CORRECTION] 避難所の開設について');
    expect(all).toContain('This corrects the notice issued 2026-11-26 18:00 JST.');
    expect(all).toContain('Area: Kikuchi City');
    const bubble = (r.messages[0] as messagingApi.FlexMessage).contents as messagingApi.FlexBubble;
    expect(firstButton(bubble).action).toMatchObject({ label: 'Details' });
    expect(renderLineMessages({ ...notice, kind: 'cancel' }, 'ja').altText).toContain('【取消】');
  });

  it('stays within every limit for each severity and locale, including a 10,000-character body', () => {
    for (const severity of SEVERITIES) {
      for (const locale of LOCALES) {
        expectWithinLimits(renderLineMessages(makeNoticeView({ severity }), locale));
      }
    }
    // 10,000 characters: sentences of 20, so cuts can fall on 。
    const body = '市内全域に避難指示を発令しました。直ちに'.repeat(500);
    expect(body.length).toBe(10_000);
    const r = renderLineMessages(makeNoticeView({ body }), 'ja');
    expectWithinLimits(r);
    // Nothing is lost: the bubble's part and the continuations give back the whole body.
    const bubbleBody = texts({ ...r, messages: r.messages.slice(0, 1) }).at(-1) ?? '';
    expect(bubbleBody.endsWith('…（続きは次のメッセージ）')).toBe(true);
    expect(bubbleBody.length).toBeLessThanOrEqual(BUBBLE_BODY_CHARS + 20);
    const rest = r.messages.slice(1).map((m) => (m as messagingApi.TextMessage).text.replace(/^（続き）\n/, ''));
    const joined = [bubbleBody.replace('…（続きは次のメッセージ）', ''), ...rest].join('');
    expect(joined).toBe(body);
    // Cut at sentence ends, not mid-word.
    expect(bubbleBody.replace('…（続きは次のメッセージ）', '').endsWith('。')).toBe(true);
  });

  it('cuts a body too long for 5 messages and ends with the page link', () => {
    const body = 'あ'.repeat(40_000);
    for (const locale of LOCALES) {
      const notice = makeNoticeView({ body });
      const r = renderLineMessages(notice, locale);
      expectWithinLimits(r);
      expect(r.messages).toHaveLength(LINE_LIMITS.messagesPerRequest);
      const last = (r.messages.at(-1) as messagingApi.TextMessage).text;
      expect(last.endsWith(notice.pageUrl)).toBe(true);
    }
  });

  it('keeps emoji whole and the Flex JSON under 30 KB when the body is all multi-byte', () => {
    const r = renderLineMessages(makeNoticeView({ body: '🙏🏽'.repeat(5_000), title: '🙏'.repeat(300) }), 'ja');
    expectWithinLimits(r);
    for (const t of texts(r)) expect(t).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it('is accepted by the LINE fake (which checks what LINE checks)', async () => {
    const fake = await startLineFake();
    try {
      const client = new messagingApi.MessagingApiClient({ channelAccessToken: fake.token, baseURL: fake.baseUrl });
      for (const body of ['短い本文', 'お'.repeat(10_000), 'x'.repeat(40_000)]) {
        const { messages } = renderLineMessages(
          makeNoticeView({ body, link: 'https://www.city.kikuchi.lg.jp/' }),
          'ja',
        );
        await client.pushMessage({ to: lineUserId(1), messages });
      }
      expect(fake.deliveriesTo(lineUserId(1))).toHaveLength(3);
    } finally {
      await fake.close();
    }
  });
});

describe('the LINE fake', () => {
  let fake: LineFake;
  beforeAll(async () => {
    fake = await startLineFake();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => fake.reset());

  const messages: messagingApi.Message[] = [{ type: 'text', text: 'テスト' }];
  const call = (status: Promise<unknown>) =>
    status.then(
      () => 200,
      (err: { status?: number }) => err.status,
    );

  it('refuses a wrong token (401), 501 recipients and 6 messages (400), and a retry key that is not a UUID', async () => {
    const wrong = new messagingApi.MessagingApiClient({ channelAccessToken: 'wrong', baseURL: fake.baseUrl });
    expect(await call(wrong.multicast({ to: [lineUserId(1)], messages }))).toBe(401);
    const client = new messagingApi.MessagingApiClient({ channelAccessToken: fake.token, baseURL: fake.baseUrl });
    const to501 = Array.from({ length: 501 }, (_, i) => lineUserId(i));
    expect(await call(client.multicast({ to: to501, messages }))).toBe(400);
    expect(await call(client.multicast({ to: [lineUserId(1)], messages: Array(6).fill(messages[0]) }))).toBe(400);
    expect(
      await call(client.multicast({ to: [lineUserId(1)], messages: [{ type: 'text', text: 'x'.repeat(5_001) }] })),
    ).toBe(400);
    expect(await call(client.multicast({ to: [lineUserId(1)], messages }, 'not-a-uuid'))).toBe(400);
    expect(fake.delivered).toBe(0);
  });

  it('answers a repeated retry key with 409 and the accepted request id, delivering nothing again', async () => {
    const client = new messagingApi.MessagingApiClient({ channelAccessToken: fake.token, baseURL: fake.baseUrl });
    const key = lineRetryKey('d-test', 'x');
    const first = await client.multicastWithHttpInfo({ to: [lineUserId(1), lineUserId(2)], messages }, key);
    const acceptedId = first.httpResponse.headers.get('x-line-request-id');
    const again = await client.multicast({ to: [lineUserId(1), lineUserId(2)], messages }, key).catch((e) => e);
    expect(again).toBeInstanceOf(Error);
    expect(again.status).toBe(409);
    expect(again.headers.get('x-line-accepted-request-id')).toBe(acceptedId);
    expect(fake.delivered).toBe(2);
  });
});

describe('LINE channel against the fake', () => {
  let fake: LineFake;
  beforeAll(async () => {
    fake = await startLineFake();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => {
    fake.reset();
    fake.setToken('test-line-token');
    fake.setQuota({ type: 'none' }, 0);
  });

  const make = (overrides: Partial<Parameters<typeof createLineChannel>[0]> = {}) =>
    createLineChannel(
      { channelAccessToken: 'test-line-token', baseUrl: fake.baseUrl, emergencyBroadcast: false, ...overrides },
      { logger: silent },
    );

  it('derives one UUID retry key per batch part, the same on every attempt', () => {
    const a = lineRetryKey('n1-r1-line-0', 'multicast:ja:0');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(lineRetryKey('n1-r1-line-0', 'multicast:ja:0')).toBe(a);
    expect(lineRetryKey('n1-r1-line-0', 'multicast:en:0')).not.toBe(a);
    expect(lineRetryKey('n1-r1-line-1', 'multicast:ja:0')).not.toBe(a);
  });

  it('sends 1,201 recipients as 3 multicasts of 500, 500 and 201, each resident once', async () => {
    const channel = make();
    expect(channel.maxBatch).toBe(500);
    const notice = makeNoticeView();
    const everyone = recipients(1_201);
    const rendered = channel.render(notice, 'ja');
    const results: RecipientResult[] = [];
    for (let batch = 0; batch * channel.maxBatch < everyone.length; batch++) {
      const to = everyone.slice(batch * channel.maxBatch, (batch + 1) * channel.maxBatch);
      results.push(...(await channel.send(rendered, to, ctx(notice, `${notice.id}-r1-line-${batch}`))));
    }
    const multicasts = fake.requests.filter((r) => r.endpoint === 'multicast');
    expect(multicasts.map((r) => r.recipients)).toEqual([500, 500, 201]);
    expect(multicasts.every((r) => r.status === 200 && r.retryKey)).toBe(true);
    expect(new Set(multicasts.map((r) => r.retryKey)).size).toBe(3);
    expect(results).toHaveLength(1_201);
    expect(results.every((r) => r.status === 'sent' && r.providerId)).toBe(true);
    // The provider id is LINE's x-line-request-id of the request that carried the recipient.
    expect(new Set(results.map((r) => (r.status === 'sent' ? r.providerId : '')))).toEqual(
      new Set(multicasts.map((r) => r.requestId)),
    );
    expect(fake.usersReached).toBe(1_201);
    for (const r of everyone) expect(fake.deliveriesTo(r.address)).toHaveLength(1);
  });

  it('retries a multicast that LINE accepted but answered too late with the same key: 409, success, nobody twice', async () => {
    const channel = make({ timeoutMs: 300 });
    const notice = makeNoticeView();
    const to = recipients(3);
    const rendered = channel.render(notice, 'ja');
    fake.acceptThenStall(1, 2_000);

    const first = await channel.send(rendered, to, ctx(notice, 'n-timeout-r1-line-0')).catch((e) => e);
    expect(first).toBeInstanceOf(ChannelError);
    expect(first.kind).toBe('provider-down');
    expect(first.message).toMatch(/did not answer .* within 300 ms/);
    // LINE had it already.
    expect(fake.delivered).toBe(3);

    const reported: RecipientResult[] = [];
    const second = await channel.send(
      rendered,
      to,
      ctx(notice, 'n-timeout-r1-line-0', 2, (r) => reported.push(r)),
    );
    const [firstRequest, secondRequest] = fake.requests;
    expect(secondRequest?.status).toBe(409);
    expect(secondRequest?.retryKey).toBe(firstRequest?.retryKey);
    expect(second.every((r) => r.status === 'sent' && r.providerId === firstRequest?.requestId)).toBe(true);
    expect(reported).toEqual(second);
    for (const r of to) expect(fake.deliveriesTo(r.address)).toHaveLength(1);
    expect(fake.delivered).toBe(3);
  });

  it('sends each locale of one batch under its own retry key', async () => {
    const channel = make();
    const notice = makeNoticeView();
    const key = `${notice.id}-r1-line-0`;
    await channel.send(channel.render(notice, 'ja'), recipients(2, 0, 'ja'), ctx(notice, key));
    await channel.send(channel.render(notice, 'en'), recipients(2, 2, 'en'), ctx(notice, key));
    expect(fake.requests.map((r) => r.status)).toEqual([200, 200]);
    expect(fake.usersReached).toBe(4);
  });

  it('turns 429 into rate-limited with Retry-After, or a short default without it', async () => {
    const channel = make();
    const notice = makeNoticeView();
    const rendered = channel.render(notice, 'ja');
    fake.failNext(1, 429, { retryAfter: '7' });
    const withHeader = await channel.send(rendered, recipients(1), ctx(notice, 'k429a')).catch((e) => e);
    expect(withHeader).toMatchObject({ kind: 'rate-limited', retryAfterMs: 7_000 });
    fake.failNext(1, 429);
    const without = await channel.send(rendered, recipients(1), ctx(notice, 'k429b')).catch((e) => e);
    expect(without).toMatchObject({ kind: 'rate-limited', retryAfterMs: DEFAULT_RATE_LIMIT_MS });
    expect(fake.delivered).toBe(0);
  });

  it('treats 5xx as provider-down (LINE as a whole not reached) and the monthly-limit 429 as permanent', async () => {
    const channel = make();
    const notice = makeNoticeView();
    const rendered = channel.render(notice, 'ja');
    fake.failNext(1, 503);
    await expect(channel.send(rendered, recipients(1), ctx(notice, 'k5xx'))).rejects.toMatchObject({
      kind: 'provider-down',
    });
    fake.setQuota({ type: 'limited', value: 1 }, 1);
    const monthly = await channel.send(rendered, recipients(1), ctx(notice, 'kmonth')).catch((e) => e);
    expect(monthly).toMatchObject({ kind: 'permanent' });
    expect(monthly.message).toContain('monthly limit');
  });

  it("keeps LINE's own message on a 400, as a permanent failure", async () => {
    const channel = make();
    const notice = makeNoticeView();
    fake.failNext(1, 400, {
      message: 'The request body has 1 error(s)',
      details: [{ message: 'May not be empty', property: 'messages[0].text' }],
    });
    const err = await channel.send(channel.render(notice, 'ja'), recipients(2), ctx(notice, 'k400')).catch((e) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain('The request body has 1 error(s) (messages[0].text: May not be empty)');
  });

  it('reports a refused token as permanent, telling staff to check LINE_CHANNEL_ACCESS_TOKEN', async () => {
    const channel = make({ channelAccessToken: 'revoked' });
    const notice = makeNoticeView();
    const err = await channel.send(channel.render(notice, 'ja'), recipients(1), ctx(notice, 'k401')).catch((e) => e);
    expect(err).toMatchObject({ kind: 'permanent', channel: 'line' });
    expect(err.message).toContain('LINE_CHANNEL_ACCESS_TOKEN');
    await expect(channel.check?.()).rejects.toMatchObject({ kind: 'permanent' });
    fake.failNext(1, 403, { on: 'send' });
    const forbidden = await make()
      .send(channel.render(notice, 'ja'), recipients(1), ctx(notice, 'k403'))
      .catch((e) => e);
    expect(forbidden.message).toContain('LINE_CHANNEL_ACCESS_TOKEN');
  });

  it('reports an unreachable LINE as provider-down (LINE as a whole not reached)', async () => {
    const channel = createLineChannel(
      { channelAccessToken: 't', baseUrl: 'http://127.0.0.1:9', emergencyBroadcast: false, timeoutMs: 2_000 },
      { logger: silent },
    );
    const notice = makeNoticeView();
    await expect(channel.send(channel.render(notice, 'ja'), recipients(1), ctx(notice, 'kdown'))).rejects.toMatchObject(
      {
        kind: 'provider-down',
      },
    );
  });

  it('fails a stored address that is not a LINE user id alone, and sends the others', async () => {
    const channel = make();
    const notice = makeNoticeView();
    const to = [
      ...recipients(2),
      { deliveryId: 99, contactId: 99, address: 'someone@example.jp', locale: 'ja' as const },
    ];
    const results = await channel.send(channel.render(notice, 'ja'), to, ctx(notice, 'kbad'));
    expect(results.find((r) => r.deliveryId === 99)).toMatchObject({ status: 'failed', deactivate: true });
    expect(results.filter((r) => r.status === 'sent')).toHaveLength(2);
    expect(fake.requests[0]?.recipients).toBe(2);
  });

  it('refuses through admit() a notice the monthly quota cannot cover, with the numbers, and admits one it can', async () => {
    const channel = make();
    const notice = makeNoticeView();
    fake.setQuota({ type: 'limited', value: 1_000 }, 900);
    const err = await channel.admit?.(notice, 200).catch((e) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain('上限 1000 通、使用済み 900 通、残り 100 通、配信先 200 人');
    expect(err.message).toContain('limit 1000, used 900, remaining 100, audience 200');
    await expect(channel.admit?.(notice, 100)).resolves.toBeUndefined();
    fake.setQuota({ type: 'none' }, 5_000_000);
    await expect(channel.admit?.(notice, 1_000_000)).resolves.toBeUndefined();
    expect(fake.count('multicast')).toBe(0);
  });

  it('admits when the quota cannot be read for a passing reason, but not when the token is refused', async () => {
    const notice = makeNoticeView();
    fake.setQuota({ type: 'limited', value: 10 }, 10);
    fake.failNext(1, 500, { on: 'quota' });
    await expect(make().admit?.(notice, 5)).resolves.toBeUndefined();
    await expect(make({ channelAccessToken: 'revoked' }).admit?.(notice, 5)).rejects.toMatchObject({
      kind: 'permanent',
    });
  });

  it('broadcasts a city-wide emergency when configured, with a retry key, and counts a repeat as sent', async () => {
    const on = make({ emergencyBroadcast: true });
    const off = make();
    const emergency = makeNoticeView({ severity: 'emergency', category: '避難情報', title: '避難指示' });
    expect(on.broadcast?.(emergency)).toBe(true);
    expect(off.broadcast?.(emergency)).toBe(false);
    expect(on.broadcast?.({ ...emergency, areas: [{ code: '432105', name: '菊池市', nameEn: 'Kikuchi' }] })).toBe(
      false,
    );
    expect(on.broadcast?.({ ...emergency, severity: 'warning' })).toBe(false);
    expect(on.broadcast?.({ ...emergency, mode: 'test' })).toBe(false);

    const friends = Array.from({ length: 20 }, (_, i) => lineUserId(1_000 + i));
    fake.addFriends(friends);
    const star: Recipient = { deliveryId: 7, contactId: null, address: '*', locale: 'ja' };
    const rendered = on.render(emergency, 'ja');
    const [result] = await on.send(rendered, [star], ctx(emergency, 'kbroadcast'));
    expect(fake.count('broadcast', 200)).toBe(1);
    expect(fake.count('multicast')).toBe(0);
    expect(result).toMatchObject({ deliveryId: 7, status: 'sent', providerId: fake.requests[0]?.requestId });
    expect(fake.requests[0]?.retryKey).toMatch(/^[0-9a-f-]{36}$/);
    for (const f of friends) expect(fake.deliveriesTo(f)).toHaveLength(1);

    const [again] = await on.send(rendered, [star], ctx(emergency, 'kbroadcast', 2));
    expect(fake.count('broadcast', 409)).toBe(1);
    expect(again).toMatchObject({ status: 'sent', providerId: fake.requests[0]?.requestId });
    for (const f of friends) expect(fake.deliveriesTo(f)).toHaveLength(1);
  });
});
