import { describe, expect, it } from 'vitest';
import { ChannelError } from '../../channels/types.ts';
import {
  backoffDelay,
  classifyFailure,
  decideRetry,
  type Failure,
  RATE_LIMIT_PATIENCE_MS,
  type RetryInput,
  type RetryOutcome,
  type RetrySettings,
  STORE_PAUSE_MS,
} from '../../workers/retry-policy.ts';

const settings: RetrySettings = {
  baseMs: 2_000,
  maxMs: 60 * 60_000,
  giveUpAfterMs: 24 * 60 * 60_000,
  rateLimitPatienceMs: RATE_LIMIT_PATIENCE_MS,
};
/** What better-sqlite3 throws when another connection holds the write lock. */
const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
const NOW = Date.parse('2026-12-07T03:00:00Z');
const MINUTE = 60_000;

function input(over: Partial<RetryInput> = {}): RetryInput {
  return {
    outcome: { kind: 'answered', retries: [] },
    attempt: 1,
    attempts: 8,
    queuedAt: NOW - MINUTE,
    expiresAt: null,
    channel: 'webhook',
    canDelay: true,
    batchSize: 10,
    now: NOW,
    ...over,
  };
}
const answered = (retries: RetryOutcome[], over: Partial<RetryInput> = {}) =>
  decideRetry(input({ outcome: { kind: 'answered', retries }, ...over }), settings);
const threw = (failure: Failure, over: Partial<RetryInput> = {}) =>
  decideRetry(input({ outcome: { kind: 'threw', failure }, ...over }), settings);

const temporary: RetryOutcome = { reason: 'HTTP 500' };
const limited: RetryOutcome = { reason: 'HTTP 429', rateLimited: true, retryAfterMs: 30_000 };
const unreachable: RetryOutcome = { reason: 'connect ECONNREFUSED', unreachable: true };

describe('decideRetry after the provider answered', () => {
  it('is done when nobody is left to retry', () => {
    expect(answered([])).toEqual({ action: 'done' });
  });

  it('retries with an attempt, not sooner than the longest Retry-After, saying how many are left', () => {
    expect(answered([temporary, { reason: 'HTTP 503', retryAfterMs: 5_000 }])).toEqual({
      action: 'retry',
      reason: '2 of 10 recipients to be retried: HTTP 500',
      retryAfterMs: 5_000,
    });
    expect(answered([temporary])).toEqual({
      action: 'retry',
      reason: '1 of 10 recipients to be retried: HTTP 500',
      retryAfterMs: undefined,
    });
  });

  it('fails the rest on the last attempt', () => {
    expect(answered([temporary], { attempt: 8 })).toEqual({
      action: 'fail',
      reason: 'gave up after 8 attempts: HTTP 500',
      cause: 'attempts',
    });
  });

  it('holds a batch whose receivers are down, using no attempt, probing from heldSince', () => {
    const first = answered([unreachable, limited]);
    // Down for 0 ms so far: the first probe waits the base, but never less than a Retry-After.
    expect(first).toEqual({ action: 'wait', waitMs: 30_000, cause: 'receivers-down', heldSince: NOW });
    const later = answered([unreachable], { heldSince: NOW - 10 * MINUTE });
    // Probes double with the time held, up to PROVIDER_PROBE_MAX_MS (5 min).
    expect(later).toEqual({
      action: 'wait',
      waitMs: 5 * MINUTE,
      cause: 'receivers-down',
      heldSince: NOW - 10 * MINUTE,
    });
  });

  it('gives a held batch up past DELIVERY_GIVE_UP_AFTER or its notice expiry, even on attempt 1', () => {
    const longAgo = answered([unreachable], { heldSince: NOW - settings.giveUpAfterMs });
    expect(longAgo).toMatchObject({ action: 'fail', cause: 'receivers-down' });
    expect(longAgo.action === 'fail' && longAgo.reason).toContain('DELIVERY_GIVE_UP_AFTER（24h）');
    const expired = answered([unreachable], { expiresAt: new Date(NOW - 1) });
    expect(expired).toMatchObject({ action: 'fail', cause: 'receivers-down' });
    expect(expired.action === 'fail' && expired.reason).toContain('the notice expired');
  });

  it('does not hold for receivers when one recipient failed for another reason', () => {
    expect(answered([unreachable, temporary])).toMatchObject({ action: 'retry' });
  });

  it('waits out a rate limit for this batch only, using no attempt, within the patience', () => {
    expect(answered([limited], { attempt: 8 })).toEqual({ action: 'wait', waitMs: 30_000, cause: 'rate-limited' });
    // No Retry-After: the base wait.
    expect(answered([{ reason: '429', rateLimited: true }])).toEqual({
      action: 'wait',
      waitMs: 2_000,
      cause: 'rate-limited',
    });
  });

  it('spends attempts on a rate limit that outlasts the patience', () => {
    const old = { queuedAt: NOW - RATE_LIMIT_PATIENCE_MS };
    expect(answered([limited], old)).toMatchObject({ action: 'retry', retryAfterMs: 30_000 });
    expect(answered([limited], { ...old, attempt: 8 })).toMatchObject({ action: 'fail', cause: 'attempts' });
  });

  it('without a token (the job cannot be put back by itself) never waits, only retries or fails', () => {
    expect(answered([unreachable], { canDelay: false })).toMatchObject({ action: 'retry' });
    expect(answered([limited], { canDelay: false })).toMatchObject({ action: 'retry' });
    expect(answered([limited], { canDelay: false, attempt: 8 })).toMatchObject({ action: 'fail', cause: 'attempts' });
  });
});

describe('decideRetry after the run threw', () => {
  it('fails a permanent refusal at once, whatever the attempt', () => {
    expect(threw({ kind: 'permanent', message: 'x: forbidden' })).toEqual({
      action: 'fail',
      reason: 'x: forbidden',
      cause: 'permanent',
    });
  });

  it('pauses the queue for a store outage, using no attempt, even on the last', () => {
    expect(threw({ kind: 'store-unavailable', message: 'SQLITE_BUSY' }, { attempt: 8 })).toEqual({
      action: 'pause-queue',
      waitMs: STORE_PAUSE_MS,
      cause: 'store-unavailable',
    });
  });

  it("pauses the channel's queue for a channel's rate limit: its Retry-After, or a second", () => {
    expect(threw({ kind: 'rate-limited', message: '429', retryAfterMs: 15_000 }, { attempt: 8 })).toEqual({
      action: 'pause-queue',
      waitMs: 15_000,
      cause: 'rate-limited',
    });
    expect(threw({ kind: 'rate-limited', message: '429' })).toMatchObject({ waitMs: 1_000 });
    expect(threw({ kind: 'rate-limited', message: '429', retryAfterMs: 0 })).toMatchObject({ waitMs: 1 });
  });

  it('pauses the queue while the provider is down, probing at doubling intervals from its since', () => {
    const since = new Date(NOW - 8_000);
    expect(threw({ kind: 'provider-down', message: 'down', since })).toEqual({
      action: 'pause-queue',
      waitMs: 8_000,
      cause: 'provider-down',
    });
    expect(threw({ kind: 'provider-down', message: 'down', since, retryAfterMs: 20_000 })).toMatchObject({
      waitMs: 20_000,
    });
  });

  it('gives a batch up when its provider stayed down past its expiry or DELIVERY_GIVE_UP_AFTER', () => {
    const since = new Date(NOW - settings.giveUpAfterMs);
    const gaveUp = threw({ kind: 'provider-down', message: 'down', since }, { queuedAt: since.getTime() - MINUTE });
    expect(gaveUp).toMatchObject({ action: 'fail', cause: 'provider-down' });
    expect(gaveUp.action === 'fail' && gaveUp.reason).toContain('the Webhooks provider');
    // A batch queued late in a long outage gets the full time from its queueing.
    expect(threw({ kind: 'provider-down', message: 'down', since }, { queuedAt: NOW - MINUTE })).toMatchObject({
      action: 'pause-queue',
    });
    const expired = threw(
      { kind: 'provider-down', message: 'down', since: new Date(NOW) },
      { expiresAt: new Date(NOW) },
    );
    expect(expired).toMatchObject({ action: 'fail', cause: 'provider-down' });
  });

  it('retries any other failure with an attempt, and fails the rest on the last', () => {
    expect(threw({ kind: 'other', message: 'ECONNRESET', retryAfterMs: 3_000 })).toEqual({
      action: 'retry',
      reason: 'ECONNRESET',
      retryAfterMs: 3_000,
    });
    expect(threw({ kind: 'other', message: 'ECONNRESET' }, { attempt: 8 })).toEqual({
      action: 'fail',
      reason: 'ECONNRESET',
      cause: 'attempts',
    });
  });
});

describe('classifyFailure', () => {
  it('tells the kinds of ChannelError and a store outage apart', () => {
    expect(classifyFailure(new ChannelError('x', 'provider-down', 'down', { retryAfterMs: 5 }))).toMatchObject({
      kind: 'provider-down',
      retryAfterMs: 5,
    });
    expect(classifyFailure(new ChannelError('x', 'permanent', 'no'))).toEqual({ kind: 'permanent', message: 'x: no' });
    expect(classifyFailure(new ChannelError('x', 'rate-limited', 'slow', { retryAfterMs: 9 }))).toMatchObject({
      kind: 'rate-limited',
      retryAfterMs: 9,
    });
    expect(classifyFailure(new ChannelError('x', 'retryable', 'again'))).toMatchObject({ kind: 'other' });
    expect(classifyFailure(busy())).toMatchObject({ kind: 'store-unavailable' });
    expect(classifyFailure(new Error('boom'))).toMatchObject({ kind: 'other', message: 'boom' });
  });

  it("without channelErrors (the dispatch queue) a channel's error is an ordinary failure", () => {
    const options = { channelErrors: false };
    expect(classifyFailure(new ChannelError('x', 'rate-limited', 'slow'), options)).toMatchObject({ kind: 'other' });
    expect(classifyFailure(new ChannelError('x', 'permanent', 'no'), options)).toMatchObject({ kind: 'other' });
    expect(classifyFailure(busy(), options)).toMatchObject({
      kind: 'store-unavailable',
    });
  });
});

describe('backoffDelay', () => {
  const backoff = { baseMs: 1_000, maxMs: 10_000 };
  it('doubles up to the ceiling, jittered within its upper half', () => {
    expect(backoffDelay(1, undefined, backoff, () => 0)).toBe(500);
    expect(backoffDelay(1, undefined, backoff, () => 1)).toBe(1_000);
    expect(backoffDelay(3, undefined, backoff, () => 1)).toBe(4_000);
    expect(backoffDelay(10, undefined, backoff, () => 1)).toBe(10_000);
  });
  it('is never sooner than the Retry-After', () => {
    expect(backoffDelay(1, 7_000, backoff, () => 0)).toBe(7_000);
  });
});
