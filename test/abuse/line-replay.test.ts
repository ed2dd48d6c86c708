import { createHmac, randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLineWebhookRoutes } from '../../src/api/line-webhook.ts';
import { DEFAULT_TOPICS } from '../../src/domain/catalogue.ts';
import { lineUserId } from '../channels/harness/line.ts';
import { type LineFake, startLineFake } from '../fakes/line-api.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';

/**
 * Issue 12 finding 17: a signed LINE body stays signed for ever. An attacker who saw one
 * `unfollow` (in a proxy's log, say) posted it again after the resident had followed
 * again, and the resident's messages stopped.
 */

const SECRET = 'line-channel-secret-for-replay-tests';
const sign = (body: string) => createHmac('sha256', SECRET).update(body).digest('base64');

describe('LINE webhook replays', () => {
  let fake: LineFake;
  let deps: TestDeps;
  let app: Hono;

  beforeAll(async () => {
    fake = await startLineFake();
    deps = await createTestDeps({
      env: { LINE_CHANNEL_ACCESS_TOKEN: fake.token, LINE_CHANNEL_SECRET: SECRET, LINE_API_BASE_URL: fake.baseUrl },
    });
    app = new Hono();
    app.route(
      '/',
      createLineWebhookRoutes({ ...deps, catalogue: { topics: DEFAULT_TOPICS, areas: deps.catalogue.areas } }),
    );
  });
  afterAll(async () => {
    await deps?.dispose();
    await fake?.close();
  });

  const event = (type: 'follow' | 'unfollow', userId: string) => ({
    type,
    ...(type === 'follow' ? { replyToken: fake.issueReplyToken(), follow: { isUnblocked: true } } : {}),
    source: { type: 'user', userId },
    timestamp: Date.now(),
    mode: 'active',
    webhookEventId: randomUUID().replaceAll('-', '').slice(0, 26).toUpperCase(),
    deliveryContext: { isRedelivery: false },
  });
  /** The exact bytes and signature LINE sent, so they can be posted again unchanged. */
  const signed = (events: unknown[]) => {
    const body = JSON.stringify({ destination: 'Uaccount', events });
    return { body, signature: sign(body) };
  };
  const post = ({ body, signature }: { body: string; signature: string }) =>
    app.request('/webhooks/line', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-line-signature': signature },
      body,
    });
  const active = async (userId: string) =>
    (
      await deps.store.db.kysely
        .selectFrom('contacts')
        .select('active')
        .where('channel', '=', 'line')
        .where('address', '=', userId)
        .executeTakeFirst()
    )?.active;

  it('a replayed signed unfollow after a re-follow does not stop the resident', async () => {
    const userId = lineUserId(71);
    expect((await post(signed([event('follow', userId)]))).status).toBe(200);
    const unfollow = signed([event('unfollow', userId)]);
    expect((await post(unfollow)).status).toBe(200);
    expect(await active(userId)).toBe(0);
    expect((await post(signed([event('follow', userId)]))).status).toBe(200);
    expect(await active(userId)).toBe(1);

    // The same bytes, the same valid signature, posted again: answered 200 (LINE must not
    // redeliver it) and ignored.
    expect((await post(unfollow)).status).toBe(200);
    expect(await active(userId)).toBe(1);
  });

  it('a signed unfollow more than a day old is ignored: its id may have been forgotten since', async () => {
    const userId = lineUserId(73);
    await post(signed([event('follow', userId)]));
    const stale = { ...event('unfollow', userId), timestamp: Date.now() - 25 * 60 * 60 * 1000 };
    expect((await post(signed([stale]))).status).toBe(200);
    expect(await active(userId)).toBe(1);
  });

  it('an event whose handling failed is handled when LINE redelivers it', async () => {
    const userId = lineUserId(74);
    const follow = event('follow', userId);
    // A store that cannot be written: the event fails, LINE is told 500 and redelivers it.
    const broken = new Hono();
    broken.route(
      '/',
      createLineWebhookRoutes({
        ...deps,
        store: {
          ...deps.store,
          lineContacts: { ...deps.store.lineContacts, follow: () => Promise.reject(new Error('down')) },
        },
        catalogue: { topics: DEFAULT_TOPICS, areas: deps.catalogue.areas },
      }),
    );
    const body = signed([follow]);
    const failed = await broken.request('/webhooks/line', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-line-signature': body.signature },
      body: body.body,
    });
    expect(failed.status).toBe(500);
    const redelivered = signed([{ ...follow, deliveryContext: { isRedelivery: true } }]);
    expect((await post(redelivered)).status).toBe(200);
    expect(await active(userId)).toBe(1);
  });

  it('each event of a body is judged by its own id: a new event beside a replayed one still counts', async () => {
    const userId = lineUserId(72);
    const first = event('follow', userId);
    await post(signed([first]));
    const stop = event('unfollow', userId);
    expect((await post(signed([first, stop]))).status).toBe(200);
    expect(await active(userId)).toBe(0);
  });
});
