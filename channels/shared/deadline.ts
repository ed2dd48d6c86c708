/**
 * A request's time limit as an AbortSignal whose timer is held for as long as the
 * request is, and cleared when it ends.
 *
 * Not AbortSignal.any([signal, AbortSignal.timeout(ms)]): Node holds a timeout signal only
 * weakly, and inside a composite nothing holds it strongly, so a garbage collection
 * during the wait can take the timer away and the request then waits for ever
 * (nodejs/node#57736, open on Node 20 and 22). A provider that never answers would keep
 * a batch active until the worker is restarted.
 */
export interface Deadline {
  /** Aborts when `ms` have passed or when the parent signal aborts, whichever is first. */
  readonly signal: AbortSignal;
  /** The limit itself ran out (not the parent). */
  readonly timedOut: boolean;
  /** Stops the timer; call it when the request has ended. */
  clear(): void;
}

export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  // The timer's callback closes over the controller: its signal lives as long as the timer.
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError'));
  }, ms);
  // A pending request keeps the process alive already; the timer alone should not.
  timer.unref?.();
  return {
    // A composite, not a listener on the parent: twenty requests of one batch in flight
    // would otherwise pile twenty listeners on the batch's signal.
    signal: parent ? AbortSignal.any([parent, controller.signal]) : controller.signal,
    get timedOut() {
      return timedOut;
    },
    clear() {
      clearTimeout(timer);
    },
  };
}
