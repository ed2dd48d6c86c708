import { CHANNEL_WORD } from '../channels/catalog.ts';
import type { ChannelId } from '../channels/types.ts';
import type { Deps } from '../src/deps.ts';
import { jstWords } from '../src/domain/jst.ts';
import { type ChannelDown, createChannelStates } from '../src/queue/channel-state.ts';
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

/** The probe and give-up settings of a deployment. */
export function outageSettings(config: Deps['config']): ProbeSettings & { giveUpAfterMs: number } {
  return {
    baseMs: config.delivery.retryBaseMs,
    maxMs: Math.min(PROVIDER_PROBE_MAX_MS, config.delivery.retryMaxMs),
    giveUpAfterMs: config.giveUpAfterMs,
  };
}

/**
 * A channel's provider as a whole failing (ChannelError 'provider-down'): the channel is
 * marked down in Redis (channel-state.ts) for the console and /readyz, and each batch that
 * meets it is held, using no attempt, until the provider answers again, its notice
 * expires, or DELIVERY_GIVE_UP_AFTER has passed since the outage began (or since the batch
 * was queued, if later: a batch queued late in a long outage still gets the full time).
 */
export function createProviderOutage(deps: Pick<Deps, 'redis' | 'config' | 'logger'>, channel: ChannelId) {
  const states = createChannelStates(deps.redis, deps.config.queuePrefix);
  const settings = outageSettings(deps.config);
  const log = deps.logger.child({ channel });
  const word = CHANNEL_WORD[channel];
  const who: DownParty = { ja: `${word.ja}の配信先`, en: `the ${word.en} provider` };

  return {
    async failed(
      batch: { queuedAt: number; expiresAt: Date | null; retryAfterMs?: number | undefined },
      reason: string,
      now = new Date(),
    ): Promise<OutageDecision> {
      const since = await states.markDown(channel, reason, now);
      const decision = decideHold(
        {
          since,
          heldSince: Math.max(since.getTime(), batch.queuedAt),
          expiresAt: batch.expiresAt,
          retryAfterMs: batch.retryAfterMs,
          lastError: reason,
        },
        who,
        settings,
        now,
      );
      if (decision.hold) {
        log.warn(
          {
            downSince: since.toISOString(),
            downForMs: now.getTime() - since.getTime(),
            nextProbeMs: decision.waitMs,
            reason,
          },
          'provider down: channel paused, probing',
        );
      }
      return decision;
    },

    /** The provider took a send: clear the outage, if there was one. */
    async answered(now = new Date()): Promise<void> {
      const was = await states.clear(channel);
      if (was) {
        log.info(
          { downSince: was.since.toISOString(), downForMs: now.getTime() - was.since.getTime() },
          'provider answers again: channel resumed',
        );
      }
    },
  };
}

export type ProviderOutage = ReturnType<typeof createProviderOutage>;
export type { ChannelDown };
