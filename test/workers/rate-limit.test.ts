import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { startXFake, type XFake } from '../fakes/x-api.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { tally, waitForDeliveries } from '../helpers/seed.ts';

const KEYS = {
  appKey: 'rl-app',
  appSecret: 'rl-app-secret',
  accessToken: '1600000000000000003-rl',
  accessSecret: 'rl-secret',
};

/** A provider's rate limit pauses the channel's queue; it never uses up a delivery's attempts. */
describe('a rate-limited provider', () => {
  let deps: TestDeps;
  let x: XFake;
  let workers: RunningWorkers;

  beforeAll(async () => {
    x = await startXFake({ oauth1: KEYS });
    deps = await createTestDeps({
      env: {
        CHANNELS: 'x',
        // One attempt only: a rate limit that counted as one would fail the post for good.
        DELIVERY_ATTEMPTS: '1',
        X_API_BASE_URL: x.url,
        X_API_KEY: KEYS.appKey,
        X_API_SECRET: KEYS.appSecret,
        X_ACCESS_TOKEN: KEYS.accessToken,
        X_ACCESS_SECRET: KEYS.accessSecret,
      },
    });
    workers = startWorkers(deps);
  });
  afterAll(async () => {
    await workers?.close();
    await deps?.dispose();
    await x?.close();
  });

  it('posts after the reset time even when no attempts are left', async () => {
    x.failNext(1, 429, { 'x-rate-limit-reset': String(Math.ceil(Date.now() / 1000) + 1) });
    const id = await postNotice(await staffClient(deps), { channels: ['x'] });
    const t = await waitForDeliveries(deps, id, 1, 20_000);
    expect(t).toEqual({ queued: 0, sent: 1, failed: 0, skipped: 0 });
    expect(tally(await deps.store.deliveries.counts(id), 'x').sent).toBe(1);
    expect(x.posts).toHaveLength(1);
    expect(x.requests.filter((r) => r.status === 429)).toHaveLength(1);
  });
});
