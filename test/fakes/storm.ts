/**
 * A provider storm that a fake can be switched into at run time, shared by every fake so
 * that one test can drive all of them through the same phases:
 *   - errors: a share of requests answered with a transient server error (HTTP 5xx; SMTP 451/421);
 *   - rate-limit: every request answered "slow down" (HTTP 429 with Retry-After; SMTP 421 try later);
 *   - hang: the request is read and never answered, until the client gives up.
 * Each fake decides what its protocol's answer to a verdict looks like; this only decides
 * which requests get one, and keeps the hung ones so close() can let them go.
 */

export type StormPhase =
  | { kind: 'calm' }
  /** random: a seeded generator makes the coin tosses repeatable; Math.random when absent. */
  | { kind: 'errors'; rate: number; random?: () => number }
  | { kind: 'rate-limit'; retryAfterSeconds: number }
  | { kind: 'hang' };

export type StormVerdict = { kind: 'error' } | { kind: 'rate-limit'; retryAfterSeconds: number } | { kind: 'hang' };

export interface Storm {
  readonly phase: StormPhase;
  /** Switches every later request to this phase (requests already hung stay hung). */
  set(phase: StormPhase): void;
  /** What to do with the request arriving now; undefined: answer it as usual. */
  decide(): StormVerdict | undefined;
  /** Keeps a hung request's way to end it, for release(). */
  hold(end: () => void): void;
  /** Ends every hung request (the fake's close() calls this). */
  release(): void;
}

export function createStorm(): Storm {
  let phase: StormPhase = { kind: 'calm' };
  const held = new Set<() => void>();
  return {
    get phase() {
      return phase;
    },
    set(next) {
      phase = next;
    },
    decide() {
      switch (phase.kind) {
        case 'calm':
          return undefined;
        case 'errors':
          return (phase.random ?? Math.random)() < phase.rate ? { kind: 'error' } : undefined;
        case 'rate-limit':
          return { kind: 'rate-limit', retryAfterSeconds: phase.retryAfterSeconds };
        case 'hang':
          return { kind: 'hang' };
      }
    },
    hold(end) {
      held.add(end);
    },
    release() {
      for (const end of held) {
        try {
          end();
        } catch {
          // The client may have gone already.
        }
      }
      held.clear();
    },
  };
}
