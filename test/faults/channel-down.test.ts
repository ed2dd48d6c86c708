import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { lineUserId } from '../channels/harness/line.ts';
import { type LineFake, startLineFake } from '../fakes/line-api.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { startXFake, type XFake } from '../fakes/x-api.ts';
import { seedContacts } from '../helpers/bulk-seed.ts';
import { signedInConsole } from '../helpers/console.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { residentEmails, tally, waitForDeliveries } from '../helpers/seed.ts';
import { waitUntil } from '../helpers/wait.ts';
import { deliveryTotals } from './delivery-metrics.ts';
import { formatTable, reportFaultFigures } from './fan-out-fixture.ts';
import { acceptedId, type ServiceProcess, startService } from './service-process.ts';

const MAIL = 20;
const LINE = 8;
const LINE_TOKEN = 'line-token-issued-today';
const X_KEYS = {
  appKey: 'down-app',
  appSecret: 'down-app-secret',
  accessToken: '1600000000000000011-down',
  accessSecret: 'down-secret',
};

/**
 * LINE and X down for good: the LINE token was reissued and X's access secret regenerated,
 * and the deployment still has the old ones. `hibiki all` runs as the README starts it.
 * Their deliveries fail at once with a reason naming the setting to fix, mail goes out
 * untouched, staff see the failures on the notice's console page and on /metrics, and
 * after a restart with the right settings one retry sends only what failed, once.
 */
describe('a channel down for good (wrong credentials)', () => {
  let deps: TestDeps;
  let sink: SmtpSink;
  let line: LineFake;
  let x: XFake;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    [sink, line, x] = await Promise.all([
      startSmtpSink(),
      startLineFake({ channelAccessToken: LINE_TOKEN }),
      startXFake({ oauth1: X_KEYS }),
    ]);
    deps = await createTestDeps({
      env: {
        CHANNELS: 'mail,line,x',
        SMTP_URL: sink.url,
        MAIL_BATCH: '5',
        LINE_CHANNEL_ACCESS_TOKEN: 'line-token-revoked-last-week',
        LINE_CHANNEL_SECRET: 'down-line-secret',
        LINE_API_BASE_URL: line.baseUrl,
        X_API_BASE_URL: x.url,
        X_API_KEY: X_KEYS.appKey,
        X_API_SECRET: X_KEYS.appSecret,
        X_ACCESS_TOKEN: X_KEYS.accessToken,
        X_ACCESS_SECRET: 'down-secret-before-it-was-regenerated',
      },
    });
    await seedContacts(
      deps,
      'mail',
      residentEmails(MAIL, 'down.example.jp').map((address) => ({ address })),
    );
    await seedContacts(
      deps,
      'line',
      Array.from({ length: LINE }, (_, i) => ({ address: lineUserId(8_000 + i) })),
    );
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await deps?.dispose();
    await Promise.all([sink?.close(), line?.close(), x?.close()]);
  });

  it('fails LINE and X fast with the setting to fix, sends mail untouched, shows it to staff, and retries only what failed', async () => {
    const down = await startService(deps);
    services.push(down);
    const id = await acceptedId(await down.post({ title: '断水のお知らせ', channels: ['mail', 'line', 'x'] }));
    const broken = await waitForDeliveries(deps, id, MAIL + LINE + 1, 30_000);
    const counts = await deps.store.deliveries.counts(id);
    expect(broken).toEqual({ queued: 0, sent: MAIL, failed: LINE + 1, skipped: 0 });
    expect(tally(counts, 'mail')).toMatchObject({ sent: MAIL, failed: 0 });

    // The reason names what to fix.
    const failed = await deps.store.deliveries.list(id, { status: 'failed', limit: 50 });
    const reasons = (channel: string) => failed.filter((d) => d.channel === channel).map((d) => d.lastError ?? '');
    expect(reasons('line')).toHaveLength(LINE);
    for (const reason of reasons('line')) expect(reason).toContain('LINE_CHANNEL_ACCESS_TOKEN');
    expect(reasons('x')).toEqual([expect.stringContaining('X_ACCESS_SECRET')]);

    // Failed fast, as permanent: one quota check refused with 401 and no multicast at all; one post refused.
    expect(line.requests.map((r) => [r.endpoint, r.status])).toEqual([['quota', 401]]);
    expect(x.requests.map((r) => r.status)).toEqual([401]);
    // Mail was not held up by them: every recipient asked once, no retries.
    const rcpts = sink.commands.filter((c) => c.command === 'RCPT TO');
    expect(rcpts).toHaveLength(MAIL);
    expect(new Set(rcpts.map((c) => c.address)).size).toBe(MAIL);

    // Staff see it: the notice's console page lists the failures with their reasons…
    const staff = await signedInConsole(createApp(deps), deps.store.tokens, 'author');
    const page = await staff.page(`/console/notices/${id}`);
    expect(page).toContain('LINE_CHANNEL_ACCESS_TOKEN');
    expect(page).toContain('X_ACCESS_SECRET');
    // …and /metrics of the running service counts them per channel.
    const downMetrics = await waitUntil(
      'the failed deliveries to be counted in /metrics',
      async () => {
        const totals = deliveryTotals(await (await down.request('/metrics')).text());
        return totals.get('mail/sent') === MAIL && totals.get('line/failed') === LINE && totals.get('x/failed') === 1
          ? totals
          : undefined;
      },
      10_000,
    );
    expect(Object.fromEntries(downMetrics)).toMatchObject({
      'mail/sent': MAIL,
      'line/failed': LINE,
      'x/failed': 1,
    });

    // Fixed: restarted with the token and secret the providers now accept; one retry.
    await down.stop();
    const up = await startService(deps, {
      LINE_CHANNEL_ACCESS_TOKEN: LINE_TOKEN,
      X_ACCESS_SECRET: X_KEYS.accessSecret,
    });
    services.push(up);
    const lineBefore = line.requests.length;
    const retryAt = Date.now();
    const retried = await up.request(`/v1/notices/${id}/retry`, { method: 'POST' });
    expect(retried.status).toBe(202);
    expect(await retried.json()).toMatchObject({ rows: LINE + 1 });
    const fixed = await waitForDeliveries(deps, id, MAIL + LINE + 1, 30_000);
    expect(fixed).toEqual({ queued: 0, sent: MAIL + LINE + 1, failed: 0, skipped: 0 });
    const recoverMs = Date.now() - retryAt;

    // Only what failed, once: each LINE user in one accepted request, one X post, no mail again.
    const multicasts = line.requests.slice(lineBefore).filter((r) => r.endpoint === 'multicast');
    const asked = multicasts.flatMap((r) => r.to ?? []);
    expect(asked).toHaveLength(LINE);
    expect(new Set(asked).size).toBe(LINE);
    expect(multicasts.every((r) => r.status === 200)).toBe(true);
    expect([...line.receivedCounts().values()]).toEqual(Array(LINE).fill(1));
    expect(x.posts).toHaveLength(1);
    expect(sink.count).toBe(MAIL);
    expect(sink.commands.filter((c) => c.command === 'RCPT TO')).toHaveLength(MAIL);
    // The worker counts a batch after it has recorded its rows: the counters can trail the rows by a moment.
    const upMetrics = await waitUntil(
      'the retried deliveries to be counted in /metrics',
      async () => {
        const totals = deliveryTotals(await (await up.request('/metrics')).text());
        return totals.get('line/sent') === LINE && totals.get('x/sent') === 1 ? totals : undefined;
      },
      10_000,
    );
    expect(upMetrics.get('line/sent')).toBe(LINE);
    expect(upMetrics.get('x/sent')).toBe(1);

    const rows = [
      ['channel', 'expected', 'sent (down)', 'failed (down)', 'sent after retry', 'lost', 'duplicated'],
      ['mail', String(MAIL), String(tally(counts, 'mail').sent), '0', '0', '0', String(sink.count - MAIL)],
      [
        'line',
        String(LINE),
        '0',
        String(tally(counts, 'line').failed),
        String(asked.length),
        String(LINE - line.usersReached),
        String(line.delivered - line.usersReached),
      ],
      ['x', '1', '0', String(tally(counts, 'x').failed), String(x.posts.length), '0', String(x.posts.length - 1)],
    ];
    reportFaultFigures(
      'channel-down',
      {
        done: 'hibiki all with a revoked LINE token and a stale X access secret; notice to mail, LINE and X; restart with the right ones; POST /v1/notices/:id/retry',
        reasons: { line: reasons('line')[0], x: reasons('x')[0] },
        requestsWhileDown: { line: lineBefore, x: 1 },
        metricsWhileDown: Object.fromEntries(downMetrics),
        retry: {
          rows: LINE + 1,
          lineUsersAsked: asked.length,
          lineRequests: multicasts.length,
          xPosts: x.posts.length,
        },
        channels: {
          mail: { expected: MAIL, sent: MAIL, lost: 0, duplicated: sink.count - MAIL },
          line: { expected: LINE, sent: LINE, lost: LINE - line.usersReached, duplicated: line.delivered - LINE },
          x: { expected: 1, sent: 1, lost: 0, duplicated: x.posts.length - 1 },
        },
        recoverMs,
      },
      [
        ...formatTable(rows),
        `LINE while down: ${lineBefore} request (the quota check, 401), no multicast; X: 1 request (401), not retried; all sent ${recoverMs} ms after the retry`,
      ],
    );
  }, 90_000);
});
