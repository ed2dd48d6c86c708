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
  /** Stops the timer and lets go of the parent; call it when the request has ended. */
  clear(): void;
}

export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const onParentAbort = () => controller.abort(parent?.reason);
  // The timer's callback closes over the controller: the signal lives as long as the timer.
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError'));
  }, ms);
  // A pending request keeps the process alive already; the timer alone should not.
  timer.unref?.();
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
