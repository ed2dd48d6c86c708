import { afterEach, describe, expect, it } from 'vitest';
import { createXChannel } from '../../channels/x/x-channel.ts';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { startXFake, type XFake } from '../fakes/x-api.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { waitForDeliveries } from '../helpers/seed.ts';

const KEYS = {
  appKey: 'pipeline-app-key',
  appSecret: 'pipeline-app-secret',
  accessToken: '1600000000000000001-pipeline',
  accessSecret: 'pipeline-access-secret',
};

const LONG_CORRECTION = [
  '避難所の開設時刻を訂正します。市民体育館と菊池中学校の開設は19時30分からです。',
  '七城公民館、旭志公民館、泗水小学校は予定どおり19時から開設しています。',
  '避難の際は、食料と飲料水を3日分、常備薬、携帯電話の充電器、懐中電灯をお持ちください。',
  '夜間の移動は危険を伴いますので、浸水している道路には近づかず、複数人で声を掛け合って避難してください。',
  '避難所への移動が困難な場合は、自宅の2階以上の、山から離れた部屋へ移動するなど、命を守る行動をとってください。',
  '最新の情報は、市のホームページ、防災行政無線、テレビ・ラジオでご確認ください。',
].join('\n');

/** API → dispatch → deliver → the X channel → a local X API that checks OAuth 1.0a signatures. */
describe('notice pipeline to X', () => {
  let deps: TestDeps | undefined;
  let fake: XFake | undefined;
  let workers: RunningWorkers | undefined;

  afterEach(async () => {
    await workers?.close();
    await deps?.dispose();
    await fake?.close();
    workers = deps = fake = undefined;
  });

  it('posts a notice, its correction as a reply thread to the first post, and its cancellation as a reply to the correction', async () => {
    fake = await startXFake({ oauth1: KEYS });
    deps = await createTestDeps({
      env: {
        CHANNELS: 'x',
        X_API_BASE_URL: fake.url,
        X_API_KEY: KEYS.appKey,
        X_API_SECRET: KEYS.appSecret,
        X_ACCESS_TOKEN: KEYS.accessToken,
        X_ACCESS_SECRET: KEYS.accessSecret,
        X_LONG_TEXT: 'thread',
        X_THREAD_MAX: '4',
      },
      overrides: {
        // Until src/deps.ts makes the X channel itself: the real factory over config.x.
        channels: (made, partial) => [
          ...made.filter((c) => c.id !== 'x'),
          createXChannel(partial.config.x, { logger: partial.logger.child({ channel: 'x' }) }),
        ],
      },
    });
    workers = startWorkers(deps);
    const client = await staffClient(deps);

    const id = await postNotice(client);
    await waitForDeliveries(deps, id, 1);
    expect(fake.posts).toHaveLength(1);
    const original = fake.posts[0];
    expect(original).toMatchObject({ replyTo: null, auth: 'oauth1' });
    expect(original?.text).toContain(`https://hibiki.example.jp/notices/${id}`);
    const [row1] = await deps.store.deliveries.list(id, { channel: 'x', revision: 1, limit: 10 });
    expect(row1).toMatchObject({ status: 'sent', recipient: '*', providerId: original?.id });

    const corrected = await client.post(`/v1/notices/${id}/revisions`, { body: LONG_CORRECTION });
    expect(corrected.status).toBe(202);
    await waitForDeliveries(deps, id, 2);
    const thread = fake.posts.slice(1);
    expect(thread.length).toBeGreaterThan(1);
    expect(thread[0]?.text.startsWith('【訂正】避難所の開設について')).toBe(true);
    // The correction replies to the original post; its parts chain one after another.
    expect(thread.map((p) => p.replyTo)).toEqual([original?.id, ...thread.slice(0, -1).map((p) => p.id)]);
    const [row2] = await deps.store.deliveries.list(id, { channel: 'x', revision: 2, limit: 10 });
    expect(row2).toMatchObject({ status: 'sent', providerId: thread[0]?.id });

    const cancelled = await client.post(`/v1/notices/${id}/cancel`, { reason: '誤って配信したため取り消します。' });
    expect(cancelled.status).toBe(202);
    await waitForDeliveries(deps, id, 3);
    const cancel = fake.posts.at(-1);
    expect(fake.posts).toHaveLength(thread.length + 2);
    expect(cancel?.text.startsWith('【取消】避難所の開設について')).toBe(true);
    expect(cancel?.replyTo).toBe(thread[0]?.id);
    // Every request was signed as X requires: nothing was refused.
    expect(fake.requests.every((r) => r.status === 201)).toBe(true);
  });
});
