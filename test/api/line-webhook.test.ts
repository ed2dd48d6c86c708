import { createHmac, randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLineWebhookRoutes } from '../../src/api/line-webhook.ts';
import { DEFAULT_TOPICS } from '../../src/domain/catalogue.ts';
import { createLogger } from '../../src/logger.ts';
import { createLineContactRepo, LINE_STOPPED, LINE_UNFOLLOWED } from '../../src/store/line-contacts.ts';
import { lineUserId } from '../channels/harness/line.ts';
import { type LineFake, startLineFake } from '../fakes/line-api.ts';
import { STORE_KINDS } from '../helpers/db.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';

const SECRET = 'line-channel-secret-for-tests';
const DISTRICT = { code: '432121', name: '旭志地区', nameEn: 'Kyokushi district' };

const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('base64');

describe.each(STORE_KINDS)('POST /webhooks/line (%s store)', (store) => {
  let fake: LineFake;
  let deps: TestDeps;
  let app: Hono;
  const logLines: string[] = [];

  beforeAll(async () => {
    fake = await startLineFake();
    deps = await createTestDeps({
      store,
      env: {
        LINE_CHANNEL_ACCESS_TOKEN: fake.token,
        LINE_CHANNEL_SECRET: SECRET,
        LINE_API_BASE_URL: fake.baseUrl,
        LINE_DEFAULT_TOPICS: 'disaster,shelter',
      },
    });
    // Every log line the webhook writes, to check that no user id ever reaches the logs.
    const logger = createLogger('debug', { write: (line: string) => void logLines.push(line) });
    app = new Hono();
    app.route(
      '/',
      createLineWebhookRoutes({
        ...deps,
        logger,
        catalogue: { topics: DEFAULT_TOPICS, areas: [...deps.catalogue.areas, DISTRICT] },
      }),
    );
  });
  afterAll(async () => {
    await deps?.dispose();
    await fake?.close();
  });
  beforeEach(() => fake.reset());

  const repo = () => createLineContactRepo(deps.store.db);
  const base = (userId: string) => ({
    source: { type: 'user', userId },
    timestamp: Date.now(),
    mode: 'active',
    webhookEventId: randomUUID(),
    deliveryContext: { isRedelivery: false },
  });
  const follow = (userId: string) => ({
    type: 'follow',
    replyToken: fake.issueReplyToken(),
    follow: { isUnblocked: false },
    ...base(userId),
  });
  const unfollow = (userId: string) => ({ type: 'unfollow', ...base(userId) });
  const text = (userId: string, t: string) => ({
    type: 'message',
    replyToken: fake.issueReplyToken(),
    message: { type: 'text', id: '1', quoteToken: 'q', text: t },
    ...base(userId),
  });
  const postback = (userId: string, data: string) => ({
    type: 'postback',
    replyToken: fake.issueReplyToken(),
    postback: { data },
    ...base(userId),
  });

  async function deliver(events: unknown[], signature?: string | null) {
    const body = JSON.stringify({ destination: 'Uaccount', events });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (signature !== null) headers['x-line-signature'] = signature ?? sign(body);
    return app.request('/webhooks/line', { method: 'POST', headers, body });
  }

  /** The text of the one reply the fake received since the last reset. */
  function lastReply(): { text: string; labels: string[]; data: string[] } {
    expect(fake.replies.length).toBeGreaterThan(0);
    const message = fake.replies.at(-1)?.messages[0] as {
      text: string;
      quickReply?: { items: Array<{ action: { label: string; data: string } }> };
    };
    const items = message.quickReply?.items ?? [];
    return { text: message.text, labels: items.map((i) => i.action.label), data: items.map((i) => i.action.data) };
  }

  async function lineContacts() {
    return deps.store.db.kysely.selectFrom('contacts').selectAll().where('channel', '=', 'line').execute();
  }

  const audience = (topics: string[]) =>
    deps.store.subscribers.countAudience({
      channel: 'line',
      topics,
      areas: [],
      ignoreTopics: false,
      severity: 'info',
    });

  it('refuses a bad or missing signature with 401 and stores nothing', async () => {
    const userId = lineUserId(1);
    const events = [follow(userId)];
    const body = JSON.stringify({ destination: 'Uaccount', events });
    const forged = await deliver(events, sign(body, 'not-the-secret'));
    expect(forged.status).toBe(401);
    const missing = await deliver(events, null);
    expect(missing.status).toBe(401);
    // A signature of different bytes (the same JSON re-serialised with a space) does not pass either.
    const respaced = await app.request('/webhooks/line', {
      method: 'POST',
      headers: { 'x-line-signature': sign(body) },
      body: JSON.stringify({ destination: 'Uaccount', events }, null, 1),
    });
    expect(respaced.status).toBe(401);
    expect(await lineContacts()).toHaveLength(0);
    expect(fake.replies).toHaveLength(0);
  });

  it('answers LINE’s verification request (no events) with 200', async () => {
    expect((await deliver([])).status).toBe(200);
  });

  it('signs up a resident on follow with the default topics and greets them through the reply endpoint', async () => {
    const userId = lineUserId(2);
    const res = await deliver([follow(userId)]);
    expect(res.status).toBe(200);
    const [contact] = (await lineContacts()).filter((c) => c.address === userId);
    expect(contact).toMatchObject({ channel: 'line', verified: 1, active: 1 });
    expect(await repo().choices(userId)).toMatchObject({
      active: true,
      locale: 'ja',
      topics: ['disaster', 'shelter'],
      areas: [],
    });
    expect(fake.count('reply', 200)).toBe(1);
    const reply = lastReply();
    expect(reply.text).toContain('友だち追加ありがとうございます');
    expect(reply.text).toContain('いまの登録: 防災、避難所（地域: 菊池市全域）');
    expect(reply.labels).toContain('✓ 防災');
    expect(reply.labels).toContain('＋ 気象');
    expect(reply.data).toContain('topic=weather&on=1');
    expect(reply.labels).toEqual(expect.arrayContaining(['地域', '登録内容', '停止', 'English']));
    expect(await audience(['disaster'])).toBeGreaterThanOrEqual(1);
  });

  it('greets a resident whose LINE is in English in English, and keeps their language', async () => {
    const userId = lineUserId(3);
    fake.setProfile(userId, { displayName: 'Resident', language: 'en' });
    await deliver([follow(userId)]);
    expect((await repo().choices(userId))?.locale).toBe('en');
    expect(lastReply().text).toContain('Thank you for adding us. Kikuchi City sends');
    // Quick-reply labels are cut to LINE's 20 characters.
    expect(lastReply().labels).toContain('✓ Disaster preventi…');
  });

  it('lets a resident switch topics with postbacks, and shows the result', async () => {
    const userId = lineUserId(4);
    await deliver([follow(userId)]);
    await deliver([postback(userId, 'topic=weather&on=1')]);
    expect((await repo().choices(userId))?.topics).toEqual(['disaster', 'shelter', 'weather']);
    expect(lastReply().text).toContain('「気象」を受け取ります。');
    expect(lastReply().labels).toContain('✓ 気象');

    await deliver([postback(userId, 'topic=disaster&on=0')]);
    expect((await repo().choices(userId))?.topics).toEqual(['shelter', 'weather']);
    expect(lastReply().text).toContain('「防災」の受け取りをやめました。');
    // The same postback delivered twice (LINE redelivery) changes nothing more.
    await deliver([postback(userId, 'topic=disaster&on=0')]);
    expect((await repo().choices(userId))?.topics).toEqual(['shelter', 'weather']);

    await deliver([postback(userId, 'topic=no-such-topic&on=1')]);
    expect((await repo().choices(userId))?.topics).toEqual(['shelter', 'weather']);
  });

  it('lets a resident choose an area and go back to the whole city', async () => {
    const userId = lineUserId(5);
    await deliver([follow(userId)]);
    await deliver([text(userId, '地域')]);
    expect(lastReply().labels).toEqual(['✓ 菊池市全域', '旭志地区', '戻る']);
    await deliver([postback(userId, `area=${DISTRICT.code}`)]);
    expect((await repo().choices(userId))?.areas).toEqual([DISTRICT.code]);
    expect(lastReply().text).toContain('地域を「旭志地区」にしました。');
    await deliver([postback(userId, 'area=999999')]);
    expect((await repo().choices(userId))?.areas).toEqual([DISTRICT.code]);
    await deliver([postback(userId, 'area=all')]);
    expect((await repo().choices(userId))?.areas).toEqual([]);
  });

  it('shows what the resident is subscribed to (登録内容)', async () => {
    const userId = lineUserId(6);
    await deliver([follow(userId)]);
    await deliver([text(userId, '登録内容')]);
    const reply = lastReply().text;
    expect(reply).toContain('【登録内容】');
    expect(reply).toContain('配信: 受け取り中');
    expect(reply).toContain('分野: 防災、避難所');
    expect(reply).toContain('地域: 菊池市全域');
  });

  it('stops on 停止 and starts again on 再開', async () => {
    const userId = lineUserId(7);
    await deliver([follow(userId)]);
    const before = await audience(['disaster']);
    await deliver([text(userId, ' 停止 ')]);
    const [stopped] = (await lineContacts()).filter((c) => c.address === userId);
    expect(stopped).toMatchObject({ active: 0, deactivated_reason: LINE_STOPPED });
    expect(await audience(['disaster'])).toBe(before - 1);
    expect(lastReply().text).toContain('配信を停止しました');
    expect(lastReply().labels).toContain('再開');

    await deliver([postback(userId, 'action=resume')]);
    expect((await repo().choices(userId))?.active).toBe(true);
    expect(lastReply().text).toContain('配信を再開しました。');
    expect(await audience(['disaster'])).toBe(before);
  });

  it('marks the contact inactive on unfollow, and a returning friend keeps their choices', async () => {
    const userId = lineUserId(8);
    await deliver([follow(userId), postback(userId, 'topic=health&on=1')]);
    expect(fake.replies).toHaveLength(2);
    await deliver([unfollow(userId)]);
    const [gone] = (await lineContacts()).filter((c) => c.address === userId);
    expect(gone).toMatchObject({ active: 0, deactivated_reason: LINE_UNFOLLOWED });

    await deliver([follow(userId)]);
    const back = await repo().choices(userId);
    expect(back).toMatchObject({ active: true, topics: ['disaster', 'health', 'shelter'] });
    expect((await lineContacts()).filter((c) => c.address === userId)).toHaveLength(1);
  });

  it('signs up a friend from before on their first message, and ignores groups', async () => {
    const userId = lineUserId(9);
    await deliver([text(userId, 'こんにちは')]);
    expect(await repo().choices(userId)).toMatchObject({ active: true, topics: ['disaster', 'shelter'] });
    expect(lastReply().text).toContain('受け取る分野を選んでください');

    const inGroup = {
      ...text(lineUserId(10), '登録内容'),
      source: { type: 'group', groupId: 'C1', userId: lineUserId(10) },
    };
    await deliver([inGroup]);
    expect(await repo().choices(lineUserId(10))).toBeUndefined();
  });

  it('switches the resident’s language', async () => {
    const userId = lineUserId(11);
    await deliver([follow(userId)]);
    await deliver([postback(userId, 'lang=en')]);
    expect((await repo().choices(userId))?.locale).toBe('en');
    expect(lastReply().text).toContain('We will write to you in English where we can.');
    expect(lastReply().labels).toContain('日本語');
  });

  it('never writes a user id to the logs', () => {
    expect(logLines.length).toBeGreaterThan(0);
    for (let i = 1; i <= 11; i++) {
      for (const line of logLines) expect(line).not.toContain(lineUserId(i));
    }
  });
});
