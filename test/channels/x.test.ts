import { Writable } from 'node:stream';
import pino from 'pino';
import twitterText from 'twitter-text';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChannelError, type Recipient, type RecipientResult, type SendContext } from '../../channels/types.ts';
import { fitPost, weightOf, X_MAX_WEIGHT, type XPost } from '../../channels/x/fit-post.ts';
import { createXChannel, rateLimitWait, type XChannelOptions } from '../../channels/x/x-channel.ts';
import type { NoticeView } from '../../src/domain/notice.ts';
import { startXFake, type XFake } from '../fakes/x-api.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';

const BODY_400 = [
  '本日午後7時、菊池川の水位が氾濫危険水位に達したため、市内全域に警戒レベル4避難指示を発令しました。',
  '対象地域にお住まいの方は、直ちに指定避難所へ避難してください。',
  '避難所は、市民体育館、菊池中学校、七城公民館、旭志公民館、泗水小学校の5か所を開設しています。',
  '避難の際は、食料と飲料水を3日分、常備薬、携帯電話の充電器、懐中電灯をお持ちください。',
  '夜間の移動は危険を伴いますので、浸水している道路には近づかず、複数人で声を掛け合って避難してください。',
  '避難所への移動が困難な場合は、自宅の2階以上の、山から離れた部屋へ移動するなど、命を守る行動をとってください。',
  '高齢の方や体の不自由な方の避難には、ご近所の方のご協力をお願いします。',
  '最新の情報は、市のホームページ、防災行政無線、テレビ・ラジオでご確認ください。',
  '今後の雨の状況によっては、対象地域を拡大することがあります。',
  '避難所の混雑状況は、市のホームページで随時お知らせします。',
].join('\n');

const THREAD = { longText: 'thread', threadMax: 4 } as const;
const CUT = { longText: 'cut', threadMax: 4 } as const;

let seq = 0;
function view(overrides: Partial<NoticeView> = {}): NoticeView {
  seq++;
  const id = overrides.id ?? `n0xtest${process.pid}x${String(seq).padStart(4, '0')}`;
  return makeNoticeView({ id, ...overrides });
}

/** What a post holds of the body: the post without title, link, (k/n) and the closing …. */
function bodyPart(text: string, notice: NoticeView, title?: string): string {
  let t = text;
  if (title && t.startsWith(title)) t = t.slice(title.length);
  return t
    .replace(notice.pageUrl, '')
    .replace(/\n\(\d+\/\d+\)$/, '')
    .replace(/…\s*$/, '')
    .trim();
}

const noSpace = (s: string) => s.replace(/\s+/g, '');

describe('fitPost: X post texts within 280 weighted', () => {
  it('makes a 400-character Japanese notice a numbered thread, every post ≤ 280 with the link first and last', () => {
    expect(BODY_400.length).toBeGreaterThanOrEqual(400);
    const notice = view({ title: '【避難指示】菊池川流域', severity: 'emergency', body: BODY_400 });
    const post = fitPost(notice, 'ja', THREAD);

    expect(post.texts.length).toBeGreaterThan(1);
    expect(post.texts.length).toBeLessThanOrEqual(4);
    expect(post.truncated).toBe(false);
    const n = post.texts.length;
    post.texts.forEach((text, i) => {
      expect(weightOf(text)).toBeLessThanOrEqual(X_MAX_WEIGHT);
      expect(twitterText.parseTweet(text).valid).toBe(true);
      expect(text.endsWith(`\n(${i + 1}/${n})`)).toBe(true);
    });
    const first = post.texts[0] as string;
    const last = post.texts.at(-1) as string;
    expect(first.startsWith('【緊急】【避難指示】菊池川流域\n\n本日午後7時、菊池川の水位が')).toBe(true);
    expect(first).toContain(notice.pageUrl);
    expect(last).toContain(notice.pageUrl);
    // Nothing lost, nothing repeated: the parts put together are the body.
    const joined = post.texts.map((t, i) =>
      bodyPart(t, notice, i === 0 ? '【緊急】【避難指示】菊池川流域' : undefined),
    );
    expect(noSpace(joined.join(''))).toBe(noSpace(BODY_400));
    // Cut after a sentence or a clause, never inside a word.
    for (const part of joined.slice(0, -1)) expect(part).toMatch(/[。、]$/);
  });

  it('makes the same notice one post in cut mode, ≤ 280, ending the body with … before the link', () => {
    const notice = view({ title: '【避難指示】菊池川流域', body: BODY_400 });
    const post = fitPost(notice, 'ja', CUT);

    expect(post.texts).toHaveLength(1);
    expect(post.truncated).toBe(true);
    const text = post.texts[0] as string;
    expect(weightOf(text)).toBeLessThanOrEqual(X_MAX_WEIGHT);
    expect(text.endsWith(`。…\n${notice.pageUrl}`)).toBe(true);
    expect(text.startsWith('【避難指示】菊池川流域\n\n本日午後7時')).toBe(true);
    expect(BODY_400.startsWith(bodyPart(text, notice, '【避難指示】菊池川流域'))).toBe(true);
  });

  it('keeps a post of exactly 280 whole, and splits or cuts at 281', () => {
    // 'お知らせ\n\n' + body + '\n' + link weighs 8 + 2 + body + 1 + 23.
    const exact = view({ title: 'お知らせ', body: `${'あ'.repeat(122)}ab` });
    const fits = fitPost(exact, 'ja', THREAD);
    expect(fits.texts).toHaveLength(1);
    expect(weightOf(fits.texts[0] as string)).toBe(280);
    expect(fits.texts[0]).toBe(`お知らせ\n\n${'あ'.repeat(122)}ab\n${exact.pageUrl}`);
    expect(fitPost(exact, 'ja', CUT)).toEqual(fits);

    const over = view({ title: 'お知らせ', body: `${'あ'.repeat(122)}abc` });
    expect(weightOf(`お知らせ\n\n${over.body}\n${over.pageUrl}`)).toBe(281);
    const thread = fitPost(over, 'ja', THREAD);
    expect(thread.texts).toHaveLength(2);
    for (const t of thread.texts) expect(weightOf(t)).toBeLessThanOrEqual(280);
    const cut = fitPost(over, 'ja', CUT);
    expect(cut.texts).toHaveLength(1);
    expect(cut.truncated).toBe(true);
    expect(cut.texts[0]).toMatch(/…\nhttps:/);
    expect(weightOf(cut.texts[0] as string)).toBeLessThanOrEqual(280);
  });

  it('never splits an emoji, a flag, a keycap or a combining sequence', () => {
    const units = ['👨‍👩‍👧‍👦', '👍🏽', '🇯🇵', '1️⃣', 'क्षि', '🙏🏽'];
    const body = Array.from({ length: 400 }, (_, i) => units[(i * 7) % units.length]).join('');
    const whole = new RegExp(`^(${units.join('|')})*$`, 'u');
    for (const options of [THREAD, CUT, { longText: 'thread', threadMax: 25 } as const]) {
      const notice = view({ title: 'テスト', body });
      const post = fitPost(notice, 'ja', options);
      post.texts.forEach((text, i) => {
        expect(weightOf(text)).toBeLessThanOrEqual(X_MAX_WEIGHT);
        const part = bodyPart(text, notice, i === 0 ? 'テスト' : undefined);
        expect(part.length).toBeGreaterThan(0);
        expect(part).toMatch(whole);
      });
    }
  });

  it('never cuts inside a URL in the body', () => {
    const url = 'https://www.city.kikuchi.lg.jp/bousai/hinanjo/list.html?area=all&sort=name';
    const body = Array.from({ length: 12 }, (_, i) => `避難所${i + 1}の情報${url}`).join('');
    const notice = view({ body });
    for (const options of [THREAD, CUT]) {
      for (const text of fitPost(notice, 'ja', options).texts) {
        for (const found of twitterText.extractUrls(text)) expect([url, notice.pageUrl]).toContain(found);
      }
    }
  });

  it('stops a thread at threadMax, the last post cut with … and keeping the link', () => {
    const notice = view({ body: BODY_400.repeat(5) });
    const post = fitPost(notice, 'ja', { longText: 'thread', threadMax: 3 });
    expect(post.texts).toHaveLength(3);
    expect(post.truncated).toBe(true);
    expect(post.texts[2]).toMatch(new RegExp(`…\\n${notice.pageUrl}\\n\\(3/3\\)$`));
    expect(post.texts[1]).not.toContain(notice.pageUrl);
    for (const t of post.texts) expect(weightOf(t)).toBeLessThanOrEqual(280);
  });

  it('makes a cancellation one short 【取消】 post, whatever the mode', () => {
    const notice = view({ kind: 'cancel', revision: 2, body: '' });
    const post = fitPost(notice, 'ja', THREAD);
    expect(post).toEqual({
      texts: [`【取消】避難所の開設について\n\nこのお知らせは取り消されました。\n${notice.pageUrl}`],
      truncated: false,
    });
    const withReason = fitPost(view({ kind: 'cancel', revision: 2, body: BODY_400 }), 'ja', THREAD);
    expect(withReason.texts).toHaveLength(1);
    expect(withReason.texts[0]).toMatch(/^【取消】.*\n\nこのお知らせは取り消されました。\n本日/);
    expect(weightOf(withReason.texts[0] as string)).toBeLessThanOrEqual(280);
  });

  it('starts a correction with 【訂正】 and marks a drill 【訓練】', () => {
    expect(fitPost(view({ kind: 'update', revision: 2 }), 'ja', THREAD).texts[0]).toMatch(
      /^【訂正】避難所の開設について/,
    );
    expect(fitPost(view({ mode: 'exercise' }), 'ja', THREAD).texts[0]).toMatch(/^【訓練】避難所の開設について/);
  });

  it('cuts a very long title with … and keeps its marks', () => {
    const notice = view({ severity: 'emergency', title: '菊池川流域の避難指示について'.repeat(12) });
    const [first] = fitPost(notice, 'ja', THREAD).texts;
    const title = (first as string).split('\n')[0] as string;
    expect(title.startsWith('【緊急】菊池川流域')).toBe(true);
    expect(title.endsWith('…')).toBe(true);
    expect(weightOf(title)).toBeLessThanOrEqual(160);
  });

  it('drops characters X refuses and normalises to NFC', () => {
    const notice = view({ body: 'カ\u3099ス\uFEFF漏れに注意\u0007してください。' });
    const [text] = fitPost(notice, 'ja', THREAD).texts;
    expect(text).toContain('ガス漏れに注意してください。');
    expect(twitterText.parseTweet(text as string).valid).toBe(true);
  });
});

describe('rateLimitWait', () => {
  const now = 1_790_000_000_000;
  it('waits until x-rate-limit-reset, plus a second for its rounding', () => {
    expect(rateLimitWait({ 'x-rate-limit-reset': String(now / 1000 + 120) }, now)).toBe(121_000);
  });
  it('waits for the exhausted 24-hour window when that is the one', () => {
    const headers = {
      'x-rate-limit-remaining': '40',
      'x-rate-limit-reset': String(now / 1000 + 60),
      'x-user-limit-24hour-remaining': '0',
      'x-user-limit-24hour-reset': String(now / 1000 + 3_600),
    };
    expect(rateLimitWait(headers, now)).toBe(3_601_000);
  });
  it('falls back to Retry-After, then to a minute', () => {
    expect(rateLimitWait({ 'retry-after': '30' }, now)).toBe(30_000);
    expect(rateLimitWait({}, now)).toBe(60_000);
  });
});

const KEYS = {
  appKey: 'city-app-key',
  appSecret: 'city-app-secret',
  accessToken: '1600000000000000000-citytoken',
  accessSecret: 'city-access-secret',
};
const OAUTH2 = 'city-oauth2-user-token';
const PUBLIC: Recipient[] = [{ deliveryId: 7, contactId: null, address: '*', locale: 'ja' }];

function ctx(notice: NoticeView, overrides: Partial<SendContext> = {}): SendContext {
  return {
    deliveryKey: `${notice.id}-r${notice.revision}-x-0`,
    attempt: 1,
    signal: new AbortController().signal,
    notice,
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<ChannelError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ChannelError) return err;
    throw err;
  }
  throw new Error('expected a ChannelError, the send succeeded');
}

describe('X channel against the local X API', () => {
  let fake: XFake;
  let logged = '';
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, cb) {
        logged += String(chunk);
        cb();
      },
    }),
  );
  const open: Array<{ close?: () => Promise<void> }> = [];

  function channel(overrides: Partial<XChannelOptions> = {}, now?: () => number) {
    const c = createXChannel(
      { oauth1: KEYS, baseUrl: fake.url, longText: 'thread', threadMax: 4, replyRetryDelaysMs: [5, 5], ...overrides },
      { logger, ...(now ? { now } : {}) },
    );
    open.push(c);
    return c;
  }

  beforeAll(async () => {
    fake = await startXFake({ oauth1: KEYS, oauth2Token: OAUTH2 });
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close?.();
    fake.reset();
  });
  afterAll(async () => {
    await fake.close();
    // Keys and tokens never reach the logs, whatever happened above.
    for (const secret of [KEYS.appSecret, KEYS.accessSecret, KEYS.accessToken, OAUTH2, 'wrong-secret']) {
      expect(logged).not.toContain(secret);
    }
  });

  it('posts with a valid OAuth 1.0a signature and reports the post id', async () => {
    const x = channel();
    const notice = view();
    const reported: RecipientResult[] = [];
    const results = await x.send(x.render(notice, 'ja'), PUBLIC, ctx(notice, { onResult: (r) => reported.push(r) }));
    expect(fake.posts).toHaveLength(1);
    const [post] = fake.posts;
    expect(post).toMatchObject({ auth: 'oauth1', replyTo: null });
    expect(post?.id).toMatch(/^\d{19}$/);
    expect(post?.text).toBe(x.render(notice, 'ja').texts[0]);
    expect(results).toEqual([{ deliveryId: 7, status: 'sent', providerId: post?.id }]);
    expect(reported).toEqual(results);
  });

  it('refuses a wrong secret with 401 as a permanent error naming the settings to fix', async () => {
    const x = channel({ oauth1: { ...KEYS, appSecret: 'wrong-secret' } });
    const notice = view();
    const err = await failure(x.send(x.render(notice, 'ja'), PUBLIC, ctx(notice)));
    expect(err.kind).toBe('permanent');
    expect(err.message).toMatch(/^x: /);
    expect(err.message).toContain('401');
    expect(err.message).toContain('X_API_SECRET');
    expect(err.message).toContain('X_ACCESS_SECRET');
    expect(fake.posts).toHaveLength(0);
    expect(fake.requests.map((r) => r.status)).toEqual([401]);

    const wrongToken = channel({ oauth1: { ...KEYS, accessSecret: 'wrong-secret' } });
    expect((await failure(wrongToken.send(x.render(notice, 'ja'), PUBLIC, ctx(notice)))).kind).toBe('permanent');
    expect(fake.posts).toHaveLength(0);
  });

  it('posts with an OAuth 2.0 user token, and names X_OAUTH2_TOKEN when X refuses it', async () => {
    const x = channel({ oauth1: undefined, oauth2Token: OAUTH2 });
    const notice = view();
    await x.send(x.render(notice, 'ja'), PUBLIC, ctx(notice));
    expect(fake.posts.map((p) => p.auth)).toEqual(['oauth2']);

    const expired = channel({ oauth1: undefined, oauth2Token: 'expired-token' });
    const other = view();
    const err = await failure(expired.send(expired.render(other, 'ja'), PUBLIC, ctx(other)));
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain('X_OAUTH2_TOKEN');
  });

  it('posts a correction as a reply to the first post of the earlier revision', async () => {
    const x = channel();
    const original = view();
    const [sent] = await x.send(x.render(original, 'ja'), PUBLIC, ctx(original));
    const originalId = sent?.status === 'sent' ? sent.providerId : undefined;
    expect(originalId).toBeTruthy();

    const correction = view({ id: original.id, revision: 2, kind: 'update', body: '開設時刻を19時30分に訂正します。' });
    const [again] = await x.send(
      x.render(correction, 'ja'),
      PUBLIC,
      ctx(correction, { replyTo: originalId as string }),
    );
    expect(fake.posts).toHaveLength(2);
    const reply = fake.posts[1];
    expect(reply?.replyTo).toBe(originalId);
    expect(reply?.text.startsWith('【訂正】避難所の開設について')).toBe(true);
    expect(again).toMatchObject({ status: 'sent', providerId: reply?.id });
  });

  it('chains a thread: each part replies to the one before, the delivery is the first post', async () => {
    const x = channel();
    const notice = view({ body: BODY_400 });
    const message = x.render(notice, 'ja');
    expect(message.texts.length).toBeGreaterThan(1);
    const [result] = await x.send(message, PUBLIC, ctx(notice, { replyTo: undefined }));
    expect(fake.posts.map((p) => p.text)).toEqual(message.texts);
    expect(fake.posts.map((p) => p.replyTo)).toEqual([null, ...fake.posts.slice(0, -1).map((p) => p.id)]);
    expect(result).toMatchObject({ status: 'sent', providerId: fake.posts[0]?.id });
  });

  it('starts a corrected thread as a reply to the original and chains the rest', async () => {
    const x = channel();
    const original = view();
    await x.send(x.render(original, 'ja'), PUBLIC, ctx(original));
    const originalId = fake.posts[0]?.id as string;
    const correction = view({ id: original.id, revision: 2, kind: 'update', body: BODY_400 });
    await x.send(x.render(correction, 'ja'), PUBLIC, ctx(correction, { replyTo: originalId }));
    const thread = fake.posts.slice(1);
    expect(thread.length).toBeGreaterThan(1);
    expect(thread[0]?.replyTo).toBe(originalId);
    expect(thread.map((p) => p.replyTo)).toEqual([originalId, ...thread.slice(0, -1).map((p) => p.id)]);
  });

  it('retries a failed thread reply within the call, and never posts the first part twice', async () => {
    const x = channel();
    const notice = view({ body: BODY_400 });
    const message = x.render(notice, 'ja');
    const reported: RecipientResult[] = [];
    // The first post goes through; the reply after it meets one 503.
    const send = x.send(message, PUBLIC, ctx(notice, { onResult: (r) => reported.push(r) }));
    await fake.waitForPosts(1);
    fake.failNext(1, 503);
    await send;
    expect(fake.posts.map((p) => p.text)).toEqual(message.texts);
    expect(fake.requests.filter((r) => r.status === 503)).toHaveLength(1);
    expect(reported).toEqual([{ deliveryId: 7, status: 'sent', providerId: fake.posts[0]?.id }]);
  });

  it('leaves a thread incomplete when replies keep failing, and a later send of the same delivery resumes it', async () => {
    const x = channel();
    const notice = view({ body: BODY_400 });
    const message = x.render(notice, 'ja');
    const send = x.send(message, PUBLIC, ctx(notice));
    await fake.waitForPosts(1);
    fake.failNext(3, 503);
    const [result] = await send;
    // The first post (title, opening, link) is up: the delivery is sent with its id.
    expect(result).toMatchObject({ status: 'sent', providerId: fake.posts[0]?.id });
    expect(fake.posts).toHaveLength(1);
    expect(logged).toContain('X thread left incomplete');

    // The worker's record failed, say, and the job runs again: the same delivery key resumes.
    const [again] = await x.send(message, PUBLIC, ctx(notice, { attempt: 2 }));
    expect(again).toEqual(result);
    expect(fake.posts.map((p) => p.text)).toEqual(message.texts);
    expect(fake.posts.map((p) => p.replyTo)).toEqual([null, ...fake.posts.slice(0, -1).map((p) => p.id)]);
  });

  it('reports 429 as rate-limited until x-rate-limit-reset', async () => {
    const now = 1_790_000_000_000;
    const x = channel({}, () => now);
    fake.failNext(1, 429, {
      'x-rate-limit-limit': '100',
      'x-rate-limit-remaining': '0',
      'x-rate-limit-reset': String(now / 1000 + 600),
    });
    const notice = view();
    const err = await failure(x.send(x.render(notice, 'ja'), PUBLIC, ctx(notice)));
    expect(err.kind).toBe('rate-limited');
    expect(err.retryAfterMs).toBe(601_000);
    expect(err.message).toContain('429');
    expect(fake.posts).toHaveLength(0);
  });

  it("reports X's duplicate-content refusal as a permanent duplicate", async () => {
    const x = channel();
    const notice = view();
    const message = x.render(notice, 'ja');
    await x.send(message, PUBLIC, ctx(notice));
    // Another delivery (another key) with the very same text.
    const err = await failure(x.send(message, PUBLIC, ctx(notice, { deliveryKey: 'another-key' })));
    expect(err.kind).toBe('permanent');
    expect(err.message).toMatch(/duplicate/i);
    expect(err.message).toContain('すでに投稿されています');
    expect(fake.posts).toHaveLength(1);
  });

  it('reports 503 as provider-down (X as a whole not reached), and the next attempt posts', async () => {
    const x = channel();
    const notice = view();
    fake.failNext(1, 503);
    const err = await failure(x.send(x.render(notice, 'ja'), PUBLIC, ctx(notice)));
    expect(err.kind).toBe('provider-down');
    expect(err.message).toContain('503');
    const [result] = await x.send(x.render(notice, 'ja'), PUBLIC, ctx(notice, { attempt: 2 }));
    expect(result?.status).toBe('sent');
    expect(fake.posts).toHaveLength(1);
  });

  it('reports a dropped connection as provider-down (X as a whole not reached)', async () => {
    const x = channel();
    const notice = view();
    fake.dropNext(1);
    expect((await failure(x.send(x.render(notice, 'ja'), PUBLIC, ctx(notice)))).kind).toBe('provider-down');
    expect(fake.posts).toHaveLength(0);
  });

  it('reports a request X leaves unanswered past the timeout as provider-down (X as a whole not reached)', async () => {
    const x = channel({ requestTimeoutMs: 200 });
    const notice = view();
    fake.stallNext(1);
    const err = await failure(x.send(x.render(notice, 'ja'), PUBLIC, ctx(notice)));
    expect(err.kind).toBe('provider-down');
    expect(err.message).toContain('timeout');
  });

  it('says so when a retry meets the post an earlier attempt made without hearing back', async () => {
    const x = channel();
    const notice = view();
    fake.dropNext(1, { afterAccept: true });
    expect((await failure(x.send(x.render(notice, 'ja'), PUBLIC, ctx(notice)))).kind).toBe('provider-down');
    const other = channel(); // another worker process: nothing remembered
    const err = await failure(other.send(other.render(notice, 'ja'), PUBLIC, ctx(notice, { attempt: 2 })));
    expect(err.kind).toBe('permanent');
    expect(err.message).toMatch(/duplicate/i);
    expect(err.message).toContain('earlier attempt');
    expect(fake.posts).toHaveLength(1);
  });

  it("keeps X's message on a 400", async () => {
    const x = channel();
    const notice = view();
    const tooLong: XPost = { texts: ['あ'.repeat(141)], truncated: false };
    const err = await failure(x.send(tooLong, PUBLIC, ctx(notice)));
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain('400');
    expect(err.message).toContain('too long');
  });

  it('explains a 403 refusal: app permissions and a regenerated access token', async () => {
    const x = channel();
    fake.failNext(
      1,
      403,
      {},
      {
        title: 'Forbidden',
        type: 'about:blank',
        status: 403,
        detail: 'You are not permitted to perform this action.',
      },
    );
    const notice = view();
    const err = await failure(x.send(x.render(notice, 'ja'), PUBLIC, ctx(notice)));
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain('You are not permitted to perform this action.');
    expect(err.message).toContain('Read and write');
    expect(err.message).toContain('X_ACCESS_TOKEN');
  });

  it('posts a correction on its own when the earlier post was deleted', async () => {
    const x = channel();
    const correction = view({ revision: 2, kind: 'update' });
    const [result] = await x.send(
      x.render(correction, 'ja'),
      PUBLIC,
      ctx(correction, { replyTo: '1866999999999999999' }),
    );
    expect(result?.status).toBe('sent');
    expect(fake.posts.map((p) => p.replyTo)).toEqual([null]);
    expect(fake.requests.map((r) => r.status)).toEqual([403, 201]);
  });

  it('refuses to start without credentials, naming the settings', () => {
    expect(() => createXChannel({ baseUrl: fake.url, longText: 'thread', threadMax: 4 }, { logger })).toThrow(
      /X_API_KEY.*X_OAUTH2_TOKEN/,
    );
  });
});
