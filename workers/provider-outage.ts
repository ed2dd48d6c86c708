import type { ChannelId } from '../channels/types.ts';
import type { Deps } from '../src/deps.ts';
import { jstWords } from '../src/domain/jst.ts';
import { CHANNEL_WORD } from '../src/domain/labels.ts';
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

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 86_400 === 0) return `${s / 86_400}d`;
  if (s % 3_600 === 0) return `${s / 3_600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
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
  const { delivery, giveUpAfterMs } = deps.config;
  const probe: ProbeSettings = {
    baseMs: delivery.retryBaseMs,
    maxMs: Math.min(PROVIDER_PROBE_MAX_MS, delivery.retryMaxMs),
  };
  const log = deps.logger.child({ channel });
  const word = CHANNEL_WORD[channel];

  return {
    async failed(
      batch: { queuedAt: number; expiresAt: Date | null; retryAfterMs?: number | undefined },
      reason: string,
      now = new Date(),
    ): Promise<OutageDecision> {
      const since = await states.markDown(channel, reason, now);
      const heldSince = Math.max(since.getTime(), batch.queuedAt);
      const downFor = now.getTime() - since.getTime();
      if (batch.expiresAt && batch.expiresAt.getTime() <= now.getTime()) {
        const at = jstWords(batch.expiresAt);
        const from = jstWords(since);
        return {
          hold: false,
          since,
          reason:
            `${word.ja}の配信先が ${from.ja} から応答しないまま、通知の有効期限（${at.ja}）が過ぎたため送信をやめました / ` +
            `not sent: the ${word.en} provider has been down since ${from.en} and the notice expired at ${at.en}; last error: ${reason}`,
        };
      }
      if (now.getTime() - heldSince >= giveUpAfterMs) {
        const from = jstWords(since);
        const limit = duration(giveUpAfterMs);
        return {
          hold: false,
          since,
          reason:
            `${word.ja}の配信先が ${from.ja} から応答せず、DELIVERY_GIVE_UP_AFTER（${limit}）を過ぎたため送信をやめました。復旧後に「再送」で送れます / ` +
            `gave up: the ${word.en} provider has been down since ${from.en}, longer than DELIVERY_GIVE_UP_AFTER (${limit}); retry the notice once it is back. Last error: ${reason}`,
        };
      }
      const waitMs = probeDelay(downFor, probe, batch.retryAfterMs ?? 0);
      log.warn(
        { downSince: since.toISOString(), downForMs: downFor, nextProbeMs: waitMs, reason },
        'provider down: channel paused, probing',
      );
      return { hold: true, waitMs, since };
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
