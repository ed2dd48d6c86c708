import { CHANNEL_WORD } from '../channels/catalog.ts';
import { ChannelError, type ChannelId } from '../channels/types.ts';
import { jstWords } from '../src/domain/jst.ts';
import { isStoreUnavailable } from '../src/store/store-errors.ts';

/**
 * What a worker does with a job after it ran, decided in this one pure function
 * (decideRetry) from what happened, the attempt and the job's age. The workers only carry
 * the decision out (deliver.ts, failure.ts): no branch of it lives there.
 */

/**
 * How long a queue waits when the store cannot be reached (a database restart, failover or
 * a held SQLite lock) before its worker tries a job again. It uses no attempt: an outage
 * of the store is nobody's delivery failing.
 */
export const STORE_PAUSE_MS = 2_000;

/** How long a batch may wait out providers' rate limits without spending its attempts. */
export const RATE_LIMIT_PATIENCE_MS = 60 * 60 * 1000;

/** A channel that says it is rate-limited without saying for how long waits this long. */
export const DEFAULT_RATE_LIMIT_MS = 1_000;

/** Who was down when a batch's own receivers were: for the reason a person reads. */
export const RECIPIENT_PROVIDER: DownParty = {
  ja: 'この配信先（受信サーバー・プッシュサービス）',
  en: "this recipient's receiver or push service",
};

export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
}

export interface RetrySettings extends BackoffSettings {
  /** DELIVERY_GIVE_UP_AFTER: the longest a batch is held for a provider that is down. */
  giveUpAfterMs: number;
  /** How long from its queueing a batch refused only by rate limits waits without using attempts. */
  rateLimitPatienceMs: number;
}

/** A deployment's retry settings (RETRY_BASE_MS, RETRY_MAX_MS, DELIVERY_GIVE_UP_AFTER). */
export function retrySettings(config: {
  delivery: { retryBaseMs: number; retryMaxMs: number };
  giveUpAfterMs: number;
}): RetrySettings {
  return {
    baseMs: config.delivery.retryBaseMs,
    maxMs: config.delivery.retryMaxMs,
    giveUpAfterMs: config.giveUpAfterMs,
    rateLimitPatienceMs: RATE_LIMIT_PATIENCE_MS,
  };
}

/** A recipient the provider asked to try again (RecipientResult with status 'retry'). */
export interface RetryOutcome {
  reason: string;
  retryAfterMs?: number | undefined;
  /** The provider asked to slow down (429). */
  rateLimited?: boolean | undefined;
  /** This recipient's own provider (a webhook receiver, a push service) is down. */
  unreachable?: boolean | undefined;
}

/** What a job's run threw, as the policy tells it apart. */
export type Failure =
  | {
      kind: 'provider-down';
      message: string;
      retryAfterMs?: number | undefined;
      /** When the channel was first marked down (channel-state.ts); the caller marks it. */
      since?: Date | undefined;
    }
  | { kind: 'permanent'; message: string }
  | { kind: 'rate-limited'; message: string; retryAfterMs?: number | undefined }
  | { kind: 'store-unavailable'; message: string }
  | { kind: 'other'; message: string; retryAfterMs?: number | undefined };

/**
 * Tells a thrown error apart. With channelErrors false (the dispatch queue, or whatever
 * reaches a worker outside a batch's sends) a ChannelError is an ordinary failure: a rate
 * limit from LINE is for LINE's queue to wait out, not the dispatcher's.
 */
export function classifyFailure(err: unknown, options: { channelErrors?: boolean } = {}): Failure {
  const message = err instanceof Error ? err.message : String(err);
  const channelErrors = options.channelErrors ?? true;
  if (channelErrors && err instanceof ChannelError && err.kind === 'provider-down') {
    return { kind: 'provider-down', message, retryAfterMs: err.retryAfterMs };
  }
  if (channelErrors && err instanceof ChannelError && err.kind === 'permanent') return { kind: 'permanent', message };
  if (isStoreUnavailable(err)) return { kind: 'store-unavailable', message };
  if (channelErrors && err instanceof ChannelError && err.kind === 'rate-limited') {
    return { kind: 'rate-limited', message, retryAfterMs: err.retryAfterMs };
  }
  return { kind: 'other', message, retryAfterMs: err instanceof ChannelError ? err.retryAfterMs : undefined };
}

export type BatchOutcome =
  /** The provider answered for every recipient sent to; `retries` are those to try again. */
  | { kind: 'answered'; retries: RetryOutcome[] }
  /** The run threw before it was done. */
  | { kind: 'threw'; failure: Failure };

export interface RetryInput {
  outcome: BatchOutcome;
  /** This run's attempt, from 1. */
  attempt: number;
  /** The attempts the job is allowed (DELIVERY_ATTEMPTS). */
  attempts: number;
  /** When the job was queued (epoch ms). */
  queuedAt: number;
  /** From when the batch has been held for receivers that are down (epoch ms), if it has. */
  heldSince?: number | undefined;
  /** The notice's expiry: a batch held past it is given up. */
  expiresAt: Date | null;
  /** The channel, for the words of a give-up reason. */
  channel?: ChannelId | undefined;
  /** Whether the job can be put back to wait by itself (the worker holds its token). */
  canDelay: boolean;
  /** Recipients sent to in this run, for the retry's message. */
  batchSize?: number | undefined;
  /** Now, epoch ms. */
  now: number;
}

export type RetryDecision =
  /** Nothing is left to do. */
  | { action: 'done' }
  /**
   * Fail the rows still queued, for good, with this reason. cause: a permanent refusal, a
   * provider (the channel's or the receivers') down past the notice's expiry or
   * DELIVERY_GIVE_UP_AFTER, or the last attempt spent.
   */
  | { action: 'fail'; reason: string; cause: 'permanent' | 'provider-down' | 'receivers-down' | 'attempts' }
  /**
   * This job waits waitMs and is taken again, using no attempt. For receivers that are
   * down the retried rows get their attempt back and the batch remembers heldSince.
   */
  | { action: 'wait'; waitMs: number; cause: 'receivers-down'; heldSince: number }
  | { action: 'wait'; waitMs: number; cause: 'rate-limited' }
  /** Try again with an attempt, after backoffDelay() and never sooner than retryAfterMs. */
  | { action: 'retry'; reason: string; retryAfterMs?: number | undefined }
  /**
   * The channel's whole queue waits waitMs (in every worker process: the limit is a Redis
   * key) and this job goes back to wait using no attempt.
   */
  | { action: 'pause-queue'; waitMs: number; cause: 'provider-down' | 'rate-limited' | 'store-unavailable' };

// The hold of a batch whose provider is down: how long until the next probe, and when to give up.

/** The longest wait between two probes of a provider that is down. */
export const PROVIDER_PROBE_MAX_MS = 5 * 60_000;

export interface ProbeSettings {
  /** The first probe's wait (RETRY_BASE_MS). */
  baseMs: number;
  /** The longest wait: PROVIDER_PROBE_MAX_MS, or RETRY_MAX_MS when that is shorter. */
  maxMs: number;
}

/**
 * The wait before the next probe: as long as the outage has lasted so far, so the probes
 * come at doubling intervals (2 s, 4 s, 8 s… from the first failure) up to maxMs. Derived
 * from the shared `since`, not from a counter, so any number of batches and worker
 * processes meeting the same outage agree on it. Never sooner than the provider asked
 * (floorMs: a Retry-After, SMTP's throttle wait).
 */
export function probeDelay(downForMs: number, settings: ProbeSettings, floorMs = 0): number {
  const wait = Math.min(settings.maxMs, Math.max(settings.baseMs, downForMs));
  return Math.max(wait, floorMs);
}

/** What the worker does with a batch that met the provider down. */
export type OutageDecision = { hold: true; waitMs: number; since: Date } | { hold: false; since: Date; reason: string };

/** DELIVERY_GIVE_UP_AFTER back in the form it is set in: 24h, 90m, 30s. */
function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  // Hours up to a week (the default reads 24h, as the README gives it), days beyond.
  if (s % 86_400 === 0 && s >= 7 * 86_400) return `${s / 86_400}d`;
  if (s % 3_600 === 0) return `${s / 3_600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/** Who was down, in a reason's words. */
export interface DownParty {
  ja: string;
  en: string;
}

export interface HoldInput {
  /** When this outage began (the channel's `since`, or the batch's first such failure). */
  since: Date;
  /** From when this batch has been held: `since`, or its queueing if later. */
  heldSince: number;
  expiresAt: Date | null;
  /** The earliest next try the provider asked for. */
  retryAfterMs?: number | undefined;
  /** What the provider did last, for the reason a person reads. */
  lastError: string;
}

/**
 * Whether a batch that met its provider down waits for it (and how long until the next
 * probe) or is given up: when its notice has expired, or DELIVERY_GIVE_UP_AFTER has passed
 * since it was first held. The reason names the setting and what to do.
 */
export function decideHold(
  input: HoldInput,
  who: DownParty,
  settings: ProbeSettings & { giveUpAfterMs: number },
  now = new Date(),
): OutageDecision {
  const { since, expiresAt, lastError } = input;
  const from = jstWords(since);
  if (expiresAt && expiresAt.getTime() <= now.getTime()) {
    const at = jstWords(expiresAt);
    return {
      hold: false,
      since,
      reason:
        `${who.ja}が ${from.ja} から応答しないまま、通知の有効期限（${at.ja}）が過ぎたため送信をやめました / ` +
        `not sent: ${who.en} has been down since ${from.en} and the notice expired at ${at.en}. Last error: ${lastError}`,
    };
  }
  if (now.getTime() - input.heldSince >= settings.giveUpAfterMs) {
    const limit = duration(settings.giveUpAfterMs);
    return {
      hold: false,
      since,
      reason:
        `${who.ja}が ${from.ja} から応答せず、DELIVERY_GIVE_UP_AFTER（${limit}）を過ぎたため送信をやめました。復旧後に「再送」で送れます / ` +
        `gave up: ${who.en} has been down since ${from.en}, longer than DELIVERY_GIVE_UP_AFTER (${limit}); retry the notice once it is back. Last error: ${lastError}`,
    };
  }
  const waitMs = probeDelay(now.getTime() - since.getTime(), settings, input.retryAfterMs ?? 0);
  return { hold: true, waitMs, since };
}

/** Retry-After of many recipients: the longest, or none. */
const longestRetryAfter = (retries: RetryOutcome[]): number | undefined =>
  Math.max(0, ...retries.map((r) => r.retryAfterMs ?? 0)) || undefined;

const probeSettings = (s: RetrySettings) => ({
  baseMs: s.baseMs,
  maxMs: Math.min(PROVIDER_PROBE_MAX_MS, s.maxMs),
  giveUpAfterMs: s.giveUpAfterMs,
});

function channelParty(channel: ChannelId | undefined): DownParty {
  const word = channel ? CHANNEL_WORD[channel] : undefined;
  return word
    ? { ja: `${word.ja}の配信先`, en: `the ${word.en} provider` }
    : { ja: 'チャネルの配信先', en: 'the provider' };
}

function afterThrow(input: RetryInput, failure: Failure, settings: RetrySettings): RetryDecision {
  switch (failure.kind) {
    case 'provider-down': {
      // A provider down as a whole is nobody's fault among the recipients: the batch is held
      // until it answers, its notice expires, or DELIVERY_GIVE_UP_AFTER has passed since the
      // outage began (or since the batch was queued, if later).
      const since = failure.since ?? new Date(input.now);
      const hold = decideHold(
        {
          since,
          heldSince: Math.max(since.getTime(), input.queuedAt),
          expiresAt: input.expiresAt,
          retryAfterMs: failure.retryAfterMs,
          lastError: failure.message,
        },
        channelParty(input.channel),
        probeSettings(settings),
        new Date(input.now),
      );
      return hold.hold
        ? { action: 'pause-queue', waitMs: hold.waitMs, cause: 'provider-down' }
        : { action: 'fail', reason: hold.reason, cause: 'provider-down' };
    }
    case 'permanent':
      return { action: 'fail', reason: failure.message, cause: 'permanent' };
    case 'store-unavailable':
      return { action: 'pause-queue', waitMs: STORE_PAUSE_MS, cause: 'store-unavailable' };
    case 'rate-limited':
      return {
        action: 'pause-queue',
        waitMs: Math.max(1, failure.retryAfterMs ?? DEFAULT_RATE_LIMIT_MS),
        cause: 'rate-limited',
      };
    case 'other':
      return input.attempt >= input.attempts
        ? { action: 'fail', reason: failure.message, cause: 'attempts' }
        : { action: 'retry', reason: failure.message, retryAfterMs: failure.retryAfterMs };
  }
}

function afterAnswer(input: RetryInput, retries: RetryOutcome[], settings: RetrySettings): RetryDecision {
  if (retries.length === 0) return { action: 'done' };
  const reason = retries[0]?.reason ?? 'temporary failure';
  const retryAfterMs = longestRetryAfter(retries);
  // Every recipient left is waiting on a provider of its own that is down (a webhook
  // receiver, a push service), or on a rate limit: no fault of theirs, so the batch waits,
  // spending no attempt, probing at growing intervals, until its notice expires or
  // DELIVERY_GIVE_UP_AFTER. The channel itself is not down: other receivers are fine.
  if (input.canDelay && retries.some((r) => r.unreachable) && retries.every((r) => r.unreachable || r.rateLimited)) {
    const heldSince = input.heldSince ?? input.now;
    const hold = decideHold(
      { since: new Date(heldSince), heldSince, expiresAt: input.expiresAt, retryAfterMs, lastError: reason },
      RECIPIENT_PROVIDER,
      probeSettings(settings),
      new Date(input.now),
    );
    return hold.hold
      ? { action: 'wait', waitMs: hold.waitMs, cause: 'receivers-down', heldSince }
      : { action: 'fail', reason: hold.reason, cause: 'receivers-down' };
  }
  // Every recipient left was refused by a provider's rate limit (429): wait it out without
  // using an attempt, as a rate-limited channel does, but for this batch only, so one busy
  // receiver or push service does not hold up the rest of the channel. Not for ever: a
  // receiver that answers 429 for longer than the patience spends attempts.
  const patient = input.now - input.queuedAt < settings.rateLimitPatienceMs;
  if (input.canDelay && patient && retries.every((r) => r.rateLimited)) {
    return { action: 'wait', waitMs: retryAfterMs ?? settings.baseMs, cause: 'rate-limited' };
  }
  if (input.attempt >= input.attempts) {
    return { action: 'fail', reason: `gave up after ${input.attempt} attempts: ${reason}`, cause: 'attempts' };
  }
  const of = input.batchSize ?? retries.length;
  return { action: 'retry', reason: `${retries.length} of ${of} recipients to be retried: ${reason}`, retryAfterMs };
}

/** The retry decision of every worker: from what happened, the attempt and the job's age. */
export function decideRetry(input: RetryInput, settings: RetrySettings): RetryDecision {
  return input.outcome.kind === 'answered'
    ? afterAnswer(input, input.outcome.retries, settings)
    : afterThrow(input, input.outcome.failure, settings);
}

/**
 * The wait before the attempt after attemptsMade: exponential backoff with full jitter (so
 * a thousand batches that failed together do not return together), never sooner than a
 * provider's Retry-After (floorMs).
 */
export function backoffDelay(
  attemptsMade: number,
  floorMs: number | undefined,
  settings: BackoffSettings,
  random = Math.random,
): number {
  const ceiling = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = Math.round(ceiling / 2 + random() * (ceiling / 2));
  return Math.max(jittered, floorMs ?? 0);
}
