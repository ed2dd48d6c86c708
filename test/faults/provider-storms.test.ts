import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postNotice, staffClient } from '../helpers/api.ts';
import { tally, waitForDeliveries } from '../helpers/seed.ts';
import { formatTable, reportFaultFigures, seededRandom } from './fan-out-fixture.ts';
import { type RateLimitWaits, rateLimitWaits } from './rate-limit-waits.ts';
import { STORM_CHANNELS, type StormChannel, type StormFigures, type StormRig, startStormRig } from './storm-rig.ts';

/**
 * The "429 with Retry-After for a minute": the whole minute, which keeps this file
 * at about 80 s. Every other phase is a few seconds: its point is what each request meets,
 * not how long.
 */
const RATE_LIMIT_PHASE_MS = 60_000;
const RETRY_AFTER_SECONDS = 4;
const ERROR_RATE = 0.3;
const HANG_PHASE_MS = 10_000;
/** Each channel's client timeout here; production's are 5–60 s (see the channels' defaults). */
const CLIENT_TIMEOUT_MS = 2_000;
const MAIL_THROTTLE_WAIT_MS = 3_000;
/** Enough that 30% random errors cannot use them all up (0.3^10 ≈ 6e-6 per recipient), and fewer than a minute of 429s. */
const ATTEMPTS = 10;
const SEED = 20_261_126;
/** Clock reads on both sides of a wait; the fake stamps its answer just before writing it. */
const TOLERANCE_MS = 50;
const SIZE = { mail: 30, line: 12, webpush: 10 };

/**
 * A notice through all five channels while every provider storms: first 30% transient
 * errors at random, then a minute of 429 with Retry-After (SMTP: 421 try later), then no
 * answer at all until each client gives up. Every delivery ends sent exactly once, a
 * recipient a provider refuses for good is asked once and never again, and no retry after
 * a 429 comes sooner than its Retry-After.
 */
describe('provider storms: 5xx at random, a minute of 429, then silence', () => {
  let rig: StormRig;

  beforeAll(async () => {
    rig = await startStormRig({
      size: SIZE,
      clientTimeoutMs: CLIENT_TIMEOUT_MS,
      mailThrottleWaitMs: MAIL_THROTTLE_WAIT_MS,
      env: { DELIVERY_ATTEMPTS: String(ATTEMPTS), MAIL_BATCH: '10', MAIL_CONNECTIONS: '4' },
    });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('sends every delivery once, never retries a permanent refusal, and waits out every Retry-After', async () => {
    const client = await staffClient(rig.deps);
    const titles = ['避難所の開設について（第1報）', '避難所の開設について（第2報）', '避難所の開設について（第3報）'];
    const post = (title: string) => postNotice(client, { title, channels: [...STORM_CHANNELS] });
    const liveRows = SIZE.mail + SIZE.line + SIZE.webpush + 1 + 1;
    const seeds: Record<StormChannel, number> = { mail: 1, line: 2, webpush: 3, webhook: 4, x: 5 };

    // Phase 1: 30% of requests answered 5xx (SMTP 451/421) at random.
    rig.setPhase({ kind: 'errors', rate: ERROR_RATE }, (fake) => seededRandom(SEED + seeds[fake]));
    const first = await post(titles[0] as string);
    // The three permanent refusals have rows too; their contacts are switched off, so later notices leave them out.
    await waitForDeliveries(rig.deps, first, liveRows + 3, 40_000);

    // Phase 2: every request answered 429 with Retry-After (SMTP 421 "try again later") for the whole phase.
    rig.setPhase({ kind: 'rate-limit', retryAfterSeconds: RETRY_AFTER_SECONDS });
    const second = await post(titles[1] as string);
    await sleep(RATE_LIMIT_PHASE_MS);
    const duringLimit = tally(await rig.deps.store.deliveries.counts(second));

    // Phase 3: requests are taken and never answered, until each client's timeout.
    rig.setPhase({ kind: 'hang' });
    const third = await post(titles[2] as string);
    await sleep(HANG_PHASE_MS);
    const duringHang = tally(await rig.deps.store.deliveries.counts(third));

    rig.setPhase({ kind: 'calm' });
    const calmAt = Date.now();
    await waitForDeliveries(rig.deps, second, liveRows, 40_000);
    await waitForDeliveries(rig.deps, third, liveRows, 40_000);
    const recoverMs = Date.now() - calmAt;

    // Nothing got through while the storm was total, so every send above came after it.
    expect(duringLimit.sent).toBe(0);
    expect(duringHang.sent).toBe(0);

    const ids = [first, second, third];
    const figures: Record<StormChannel, StormFigures>[] = [];
    for (const [i, id] of ids.entries()) figures.push(await rig.figures(id, titles[i] as string));

    // Every live recipient got each notice exactly once, on every channel, and its row says sent.
    for (const [i, perChannel] of figures.entries()) {
      for (const channel of STORM_CHANNELS) {
        const f = perChannel[channel];
        expect({ notice: i + 1, channel, ...f }).toEqual({
          notice: i + 1,
          channel,
          expected: f.expected,
          sent: f.expected,
          failed: i === 0 && channel !== 'webhook' && channel !== 'x' ? 1 : 0,
          lost: 0,
          duplicated: 0,
        });
      }
    }

    // Silence is every provider being down, no recipient's fault: it spent no attempt. Each
    // row of the third notice has the one attempt that delivered it, however long the hang.
    // Likewise the relay's 421s (SMTP's "try later" for every message) for the second notice's mail.
    const spent = (rows: { channel: string; attempts: number }[]) =>
      rows.filter((r) => r.attempts !== 1).map((r) => `${r.channel} ${r.attempts}`);
    expect(spent(await rig.deps.store.deliveries.list(third, { limit: 500 }))).toEqual([]);
    expect(spent(await rig.deps.store.deliveries.list(second, { channel: 'mail', limit: 500 }))).toEqual([]);

    // A permanent refusal is asked once; the retries that came before it were the storm's 5xx.
    const { permanent } = rig;
    const rcpts = rig.sink.commands.filter((c) => c.command === 'RCPT TO' && c.address === permanent.mail);
    expect(rcpts.map((c) => c.code)).toEqual([550]);
    const lineAsks = rig.line.requests.filter((r) => r.to?.includes(permanent.line));
    expect(lineAsks.filter((r) => r.status === 400)).toHaveLength(1);
    expect(lineAsks.at(-1)?.status).toBe(400);
    const pushAsks = rig.push.requests.filter((r) => r.subscription === permanent.webpush.id);
    expect(pushAsks.filter((r) => r.status === 410)).toHaveLength(1);
    expect(pushAsks.at(-1)?.status).toBe(410);
    const failedRows = await rig.deps.store.deliveries.list(first, { status: 'failed', limit: 10 });
    const reasons = Object.fromEntries(failedRows.map((r) => [r.channel, r.lastError]));
    expect(reasons).toEqual({
      mail: expect.stringContaining('550 5.1.1'),
      line: expect.stringContaining('LINE refused this user id (400'),
      webpush: expect.stringContaining('HTTP 410'),
    });

    // Retry-After, from the fakes' own clocks: the next request for the same batch never came sooner.
    const waits: Record<Exclude<StormChannel, 'mail'>, RateLimitWaits> = {
      line: rateLimitWaits(
        rig.line.requests.filter((r) => r.endpoint === 'multicast').map((r) => ({ ...r, key: r.retryKey })),
      ),
      x: rateLimitWaits(rig.x.requests.map((r) => ({ ...r, key: r.text }))),
      webhook: rateLimitWaits(rig.receiver.requests.map((r) => ({ ...r, key: r.webhookId }))),
      // The Topic header is the notice's: one subscription gets each notice once.
      webpush: rateLimitWaits(rig.push.requests.map((r) => ({ ...r, key: `${r.subscription} ${r.topic}` }))),
    };
    for (const [channel, w] of Object.entries(waits)) {
      expect(w.waits.length, `${channel}: retries after a 429`).toBeGreaterThan(0);
      expect(Math.min(...w.waits), `${channel}: shortest wait after a 429`).toBeGreaterThanOrEqual(
        RETRY_AFTER_SECONDS * 1000 - TOLERANCE_MS,
      );
    }
    // More 429s for one batch than it has attempts, and still sent: waiting out a rate limit used none.
    for (const channel of ['line', 'webhook', 'webpush'] as const) {
      expect(waits[channel].most429sForOneKey, channel).toBeGreaterThan(ATTEMPTS);
    }
    const mail421 = rig.sink.commands.filter((c) => c.command === 'MAIL FROM' && c.code === 421).length;
    expect(mail421).toBeGreaterThan(ATTEMPTS);

    // Every channel met a request it gave up on (a timeout), and retried it to the end.
    const hung = {
      mail: rig.sink.commands.filter((c) => c.code === 0).length,
      line: rig.line.requests.filter((r) => r.status === 0).length,
      webpush: rig.push.requests.filter((r) => r.status === 0).length,
      webhook: rig.receiver.requests.filter((r) => r.status === 0).length,
      x: rig.x.requests.filter((r) => r.status === 0).length,
    };
    for (const [channel, n] of Object.entries(hung))
      expect(n, `${channel}: requests left unanswered`).toBeGreaterThan(0);

    const phases = ['errors 30%', `429 Retry-After ${RETRY_AFTER_SECONDS}s`, 'no answer'];
    const rows: string[][] = [['notice', 'phase', 'channel', 'expected', 'sent', 'failed*', 'lost', 'duplicated']];
    for (const [i, perChannel] of figures.entries()) {
      for (const channel of STORM_CHANNELS) {
        const f = perChannel[channel];
        rows.push([
          String(i + 1),
          phases[i] as string,
          channel,
          String(f.expected),
          String(f.sent),
          String(f.failed),
          String(f.lost),
          String(f.duplicated),
        ]);
      }
    }
    const waitRows: string[][] = [['channel', '429s', 'most for one batch', 'min wait ms', 'Retry-After ms']];
    for (const [channel, w] of Object.entries(waits)) {
      waitRows.push([
        channel,
        String(w.answered429),
        String(w.most429sForOneKey),
        String(Math.min(...w.waits)),
        String(RETRY_AFTER_SECONDS * 1000),
      ]);
    }
    reportFaultFigures(
      'provider-storms',
      {
        done: `one notice per phase through mail, LINE, Web Push, webhook and X: ${ERROR_RATE * 100}% 5xx (SMTP 451/421), then ${RATE_LIMIT_PHASE_MS / 1000} s of 429 Retry-After ${RETRY_AFTER_SECONDS} s (SMTP 421), then ${HANG_PHASE_MS / 1000} s of no answer (client timeouts ${CLIENT_TIMEOUT_MS} ms)`,
        settings: {
          rateLimitPhaseMs: RATE_LIMIT_PHASE_MS,
          retryAfterSeconds: RETRY_AFTER_SECONDS,
          errorRate: ERROR_RATE,
          hangPhaseMs: HANG_PHASE_MS,
          clientTimeoutMs: CLIENT_TIMEOUT_MS,
          mailThrottleWaitMs: MAIL_THROTTLE_WAIT_MS,
          attempts: ATTEMPTS,
          seed: SEED,
        },
        notices: figures.map((perChannel, i) => ({ phase: phases[i], channels: perChannel })),
        permanent: {
          mail550: rcpts.length,
          line400: lineAsks.filter((r) => r.status === 400).length,
          push410: pushAsks.filter((r) => r.status === 410).length,
        },
        retryAfter: Object.fromEntries(
          Object.entries(waits).map(([c, w]) => [
            c,
            {
              answered429: w.answered429,
              most429sForOneBatch: w.most429sForOneKey,
              minWaitMs: Math.min(...w.waits),
              retryAfterMs: RETRY_AFTER_SECONDS * 1000,
            },
          ]),
        ),
        mail421: mail421,
        unanswered: hung,
        recoverMs,
      },
      [
        ...formatTable(rows),
        '* failed: the recipients the providers refuse for good (550 5.1.1, LINE 400, push 410), each asked once',
        ...formatTable(waitRows),
        `mail: ${mail421} × 421 try later; unanswered requests per channel ${JSON.stringify(hung)}; all sent ${recoverMs} ms after the storm`,
      ],
    );
  }, 150_000);
});
