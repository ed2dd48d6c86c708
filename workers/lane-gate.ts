/**
 * Lets a channel's alerts overtake its routine batches inside one worker process. The two
 * lanes have their own queues and worker slots (src/queue/names.ts), but share the
 * channel's provider connections (an SMTP pool of MAIL_CONNECTIONS): without this, a
 * routine batch would keep half of them while an evacuation order is being sent.
 */
export interface LaneGate {
  /** An alert batch starts sending; returns its end. */
  alertSending(): () => void;
  /** For a routine batch, before each message: resolves once no alert is sending (undefined when none is). */
  waitTurn(): Promise<void> | undefined;
}

export function createLaneGate(): LaneGate {
  let sending = 0;
  let waiting: (() => void)[] = [];
  return {
    alertSending() {
      sending++;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        sending--;
        if (sending === 0) {
          const go = waiting;
          waiting = [];
          for (const resolve of go) resolve();
        }
      };
    },
    waitTurn() {
      return sending === 0 ? undefined : new Promise<void>((resolve) => waiting.push(resolve));
    },
  };
}
