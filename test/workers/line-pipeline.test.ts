import { afterEach, describe, expect, it } from 'vitest';
import { createLineChannel } from '../../channels/line/line-channel.ts';
import { createLineContactRepo } from '../../src/store/line-contacts.ts';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { lineUserId } from '../channels/harness/line.ts';
import { type LineFake, startLineFake } from '../fakes/line-api.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { tally, waitForDeliveries } from '../helpers/seed.ts';

/** API → dispatch → deliver → the LINE fake, over real Redis and SQLite. */
describe('LINE notice pipeline', () => {
  let deps: TestDeps | undefined;
  let fake: LineFake | undefined;
  let workers: RunningWorkers | undefined;

  async function setUp(env: Record<string, string> = {}, timeoutMs = 2_000) {
    fake = await startLineFake();
    const line = fake;
    deps = await createTestDeps({
      env: {
        CHANNELS: 'line',
        LINE_CHANNEL_ACCESS_TOKEN: line.token,
        LINE_CHANNEL_SECRET: 'line-secret',
        LINE_API_BASE_URL: line.baseUrl,
        ...env,
      },
      overrides: {
        // Until src/deps.ts makes the LINE channel itself: the real factory, pointed at the fake.
        channels: (made, d) => [
          ...made.filter((c) => c.id !== 'line'),
          createLineChannel(
            {
              channelAccessToken: d.config.line.channelAccessToken ?? '',
              baseUrl: d.config.line.baseUrl,
              emergencyBroadcast: d.config.line.emergencyBroadcast,
              timeoutMs,
            },
            { logger: d.logger.child({ channel: 'line' }) },
          ),
        ],
      },
    });
    return { deps, fake: line };
  }

  async function follow(d: TestDeps, count: number): Promise<string[]> {
    const repo = createLineContactRepo(d.store.db);
    const ids = Array.from({ length: count }, (_, i) => lineUserId(i));
    for (const id of ids) await repo.follow(id, d.config.line.defaultTopics);
    return ids;
  }

  afterEach(async () => {
    await workers?.close();
    await deps?.dispose();
    await fake?.close();
    workers = deps = fake = undefined;
  });

  it('sends a notice to 1,201 LINE residents in exactly 3 multicasts, with 1,201 sent rows', async () => {
    const { deps, fake } = await setUp();
    const ids = await follow(deps, 1_201);
    const id = await postNotice(await staffClient(deps), { channels: ['line'] });
    workers = startWorkers(deps);

    const t = await waitForDeliveries(deps, id, 1_201);
    expect(t).toEqual({ queued: 0, sent: 1_201, failed: 0, skipped: 0 });
    expect(tally(await deps.store.deliveries.counts(id), 'line').sent).toBe(1_201);
    const multicasts = fake.requests.filter((r) => r.endpoint === 'multicast');
    expect(multicasts).toHaveLength(3);
    expect(multicasts.map((r) => r.recipients).sort()).toEqual([201, 500, 500]);
    expect(fake.count('quota')).toBe(1);
    for (const userId of ids) expect(fake.deliveriesTo(userId)).toHaveLength(1);
    const rows = await deps.store.deliveries.list(id, { channel: 'line', limit: 5 });
    expect(rows.every((r) => r.providerId && multicasts.some((m) => m.requestId === r.providerId))).toBe(true);
  }, 120_000);

  it('fails every delivery with the reason, sending none, when the monthly quota cannot cover the audience', async () => {
    const { deps, fake } = await setUp();
    await follow(deps, 30);
    fake.setQuota({ type: 'limited', value: 1_000 }, 990);
    const id = await postNotice(await staffClient(deps), { channels: ['line'] });
    workers = startWorkers(deps);

    const t = await waitForDeliveries(deps, id, 30);
    expect(t).toEqual({ queued: 0, sent: 0, failed: 30, skipped: 0 });
    expect(fake.count('multicast')).toBe(0);
    const [row] = await deps.store.deliveries.list(id, { channel: 'line', limit: 1 });
    expect(row?.lastError).toContain('残り 10 通、配信先 30 人');
  }, 60_000);

  it('delivers to 10,000 LINE residents through 500 errors, a 429 and a timeout after acceptance, each once', async () => {
    const { deps, fake } = await setUp({ WORKER_CONCURRENCY: '4' }, 500);
    const followStarted = performance.now();
    const ids = await follow(deps, 10_000);
    const followMs = performance.now() - followStarted;
    fake.failNext(2, 500);
    fake.failNext(1, 429, { retryAfter: '1' });
    fake.acceptThenStall(1, 1_500);

    const started = performance.now();
    const id = await postNotice(await staffClient(deps), { channels: ['line'] });
    workers = startWorkers(deps);
    const t = await waitForDeliveries(deps, id, 10_000, 90_000);
    const ms = performance.now() - started;

    expect(t).toEqual({ queued: 0, sent: 10_000, failed: 0, skipped: 0 });
    expect(fake.usersReached).toBe(10_000);
    expect(fake.delivered).toBe(10_000);
    for (const userId of ids) expect(fake.deliveriesTo(userId)).toHaveLength(1);

    const multicasts = fake.requests.filter((r) => r.endpoint === 'multicast');
    const byStatus = (s: number) => multicasts.filter((r) => r.status === s).length;
    const rows = await deps.store.db.kysely
      .selectFrom('deliveries')
      .select(['attempts'])
      .where('notice_id', '=', id)
      .where('attempts', '>', 1)
      .execute();
    const figures = {
      recipients: 10_000,
      batches: Math.ceil(10_000 / 500),
      multicastRequests: multicasts.length,
      accepted200: byStatus(200),
      alreadyAccepted409: byStatus(409),
      serverErrors500: byStatus(500),
      rateLimited429: byStatus(429),
      retriedRequests: multicasts.length - Math.ceil(10_000 / 500),
      rowsSentOnALaterAttempt: rows.length,
      quotaChecks: fake.count('quota'),
      secondsFromPostToAllSent: Math.round(ms) / 1000,
      secondsToFollow10000: Math.round(followMs) / 1000,
    };
    console.log('LINE 10,000-recipient run against the fake:', JSON.stringify(figures, null, 2));
    // The stalled request comes back as 409 on its retry; on a loaded machine another slow
    // answer may time out too and do the same, still reaching each resident once.
    expect(figures.alreadyAccepted409).toBeGreaterThanOrEqual(1);
  }, 180_000);
});
