import { describe, expect, it } from 'vitest';
import { decideHold, probeDelay } from '../../workers/retry-policy.ts';

const settings = { baseMs: 2_000, maxMs: 5 * 60_000, giveUpAfterMs: 24 * 60 * 60_000 };
const who = { ja: 'メールの配信先', en: 'the E-mail provider' };

/** When a batch whose provider is down waits, how long until the next probe, and when it gives up. */
describe('provider outage decisions', () => {
  it('probes at waits as long as the outage so far: doubling from RETRY_BASE_MS, at most 5 minutes, never before Retry-After', () => {
    expect(probeDelay(0, settings)).toBe(2_000);
    expect(probeDelay(2_000, settings)).toBe(2_000);
    expect(probeDelay(4_000, settings)).toBe(4_000);
    expect(probeDelay(8_000, settings)).toBe(8_000);
    expect(probeDelay(60 * 60_000, settings)).toBe(5 * 60_000);
    expect(probeDelay(0, settings, 60_000)).toBe(60_000);
  });

  it('holds until DELIVERY_GIVE_UP_AFTER from when the batch was first held, then gives up naming the setting', () => {
    const since = new Date('2026-12-07T08:05:00Z');
    const input = { since, heldSince: since.getTime(), expiresAt: null, lastError: 'ECONNREFUSED' };
    const soon = decideHold(input, who, settings, new Date(since.getTime() + 23 * 60 * 60_000));
    expect(soon).toEqual({ hold: true, since, waitMs: 5 * 60_000 });
    const late = decideHold(input, who, settings, new Date(since.getTime() + 24 * 60 * 60_000));
    expect(late.hold).toBe(false);
    const reason = (late as { reason: string }).reason;
    expect(reason).toContain('メールの配信先が 12月7日 17時05分 から応答せず、DELIVERY_GIVE_UP_AFTER（24h）を過ぎた');
    expect(reason).toContain(
      'the E-mail provider has been down since 2026-12-07 17:05 JST, longer than DELIVERY_GIVE_UP_AFTER (24h)',
    );
    expect(reason).toContain('ECONNREFUSED');
    // A batch queued late in a long outage gets the whole time from its own start.
    const queuedLater = { ...input, heldSince: since.getTime() + 20 * 60 * 60_000 };
    expect(decideHold(queuedLater, who, settings, new Date(since.getTime() + 25 * 60 * 60_000)).hold).toBe(true);
  });

  it('gives up once the notice has expired, whatever is left of DELIVERY_GIVE_UP_AFTER', () => {
    const since = new Date('2026-12-07T08:05:00Z');
    const expiresAt = new Date('2026-12-07T09:00:00Z');
    const input = { since, heldSince: since.getTime(), expiresAt, lastError: 'ETIMEDOUT' };
    expect(decideHold(input, who, settings, new Date('2026-12-07T08:59:00Z')).hold).toBe(true);
    const after = decideHold(input, who, settings, new Date('2026-12-07T09:00:00Z'));
    expect(after).toMatchObject({
      hold: false,
      reason: expect.stringContaining('通知の有効期限（12月7日 18時00分）が過ぎた'),
    });
    expect((after as { reason: string }).reason).toContain('the notice expired at 2026-12-07 18:00 JST');
  });
});
