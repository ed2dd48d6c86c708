import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { lineUserId } from '../channels/harness/line.ts';
import { type LineFake, startLineFake } from '../fakes/line-api.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook-receiver.ts';
import { startXFake, type XFake } from '../fakes/x-api.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { residentEmails, seedMailSubscribers, tally, waitForDeliveries } from '../helpers/seed.ts';

const X_KEYS = {
  appKey: 'all-app',
  appSecret: 'all-app-secret',
  accessToken: '1600000000000000002-all',
  accessSecret: 'all-secret',
};

/** One notice through the API to every channel at once, each through the service's own wiring. */
describe('a notice to every channel', () => {
  let deps: TestDeps;
  let sink: SmtpSink;
  let x: XFake;
  let line: LineFake;
  let receiver: WebhookReceiver;
  let workers: RunningWorkers;

  beforeAll(async () => {
    [sink, x, line, receiver] = await Promise.all([
      startSmtpSink(),
      startXFake({ oauth1: X_KEYS }),
      startLineFake(),
      startWebhookReceiver(),
    ]);
    deps = await createTestDeps({
      env: {
        CHANNELS: 'mail,cap,x,line,webhook',
        SMTP_URL: sink.url,
        X_API_BASE_URL: x.url,
        X_API_KEY: X_KEYS.appKey,
        X_API_SECRET: X_KEYS.appSecret,
        X_ACCESS_TOKEN: X_KEYS.accessToken,
        X_ACCESS_SECRET: X_KEYS.accessSecret,
        LINE_CHANNEL_ACCESS_TOKEN: line.token,
        LINE_CHANNEL_SECRET: 'line-secret',
        LINE_API_BASE_URL: line.baseUrl,
        WEBHOOK_ALLOW_HTTP_LOOPBACK: 'true',
      },
    });
    workers = startWorkers(deps);
  });

  afterAll(async () => {
    await workers?.close();
    await deps?.dispose();
    await Promise.all([sink?.close(), x?.close(), line?.close(), receiver?.close()]);
  });

  it('reaches mail, CAP, X, LINE and the webhook, with delivery rows for each', async () => {
    await seedMailSubscribers(deps, residentEmails(3));
    for (let i = 0; i < 4; i++) await deps.store.lineContacts.follow(lineUserId(i), ['disaster']);
    const endpoint = await deps.store.webhooks.create({
      name: '市 CMS',
      url: receiver.url('/hibiki'),
      topics: ['disaster'],
      areas: [],
      minSeverity: 'info',
      createdBy: 'test',
    });
    receiver.setSecret(endpoint.secret);

    const id = await postNotice(await staffClient(deps), { severity: 'warning' });
    const t = await waitForDeliveries(deps, id, 3 + 1 + 1 + 4 + 1);
    expect(t).toEqual({ queued: 0, sent: 10, failed: 0, skipped: 0 });

    const counts = await deps.store.deliveries.counts(id);
    for (const [channel, n] of [
      ['mail', 3],
      ['cap', 1],
      ['x', 1],
      ['line', 4],
      ['webhook', 1],
    ] as const) {
      expect(tally(counts, channel), channel).toMatchObject({ sent: n });
    }
    expect(sink.count).toBe(3);
    expect(x.posts).toHaveLength(1);
    expect(x.posts[0]?.text).toContain('避難所の開設について');
    expect(line.usersReached).toBe(4);
    expect(receiver.deliveries).toHaveLength(1);
    const revision = await deps.store.notices.getRevision(id, 1);
    expect(await deps.store.capMessages.get(revision?.capIdentifier as string)).toBeTruthy();
  });
});
