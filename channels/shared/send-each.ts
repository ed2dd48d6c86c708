import type { SendContext } from '../types.ts';

export interface SendEachOptions {
  /** Sends in flight at once (a pool's connections, a push service's fair share). */
  concurrency: number;
  /** The send's context: its abort signal, and the lane gate's waitTurn for a routine batch. */
  ctx: Pick<SendContext, 'signal' | 'waitTurn'>;
  /** Asked before each start: true leaves the rest unstarted (mail, once its relay stopped answering). */
  stop?: () => boolean;
}

/**
 * Sends to each item of a batch, at most `concurrency` at once, and gives the results in
 * input order. Before each start it awaits ctx.waitTurn, so a routine batch yields the
 * provider's connections to an alert of the same channel; once the signal aborts (or
 * `stop` says so) no further item starts, and those not started get `notStarted` (a retry
 * result, as the worker expects for an aborted send). Sends already started finish.
 */
export async function sendEach<T, R>(
  items: readonly T[],
  options: SendEachOptions,
  send: (item: T, index: number) => Promise<R>,
  notStarted: (item: T, index: number) => R,
): Promise<R[]> {
  const { ctx } = options;
  const halted = () => ctx.signal.aborted || options.stop?.() === true;
  const results = new Array<R>(items.length);
  const started = new Array<boolean>(items.length).fill(false);
  let next = 0;
  const lane = async () => {
    while (next < items.length && !halted()) {
      await ctx.waitTurn?.();
      if (halted()) return;
      const i = next++;
      if (i >= items.length) return;
      started[i] = true;
      results[i] = await send(items[i] as T, i);
    }
  };
  const lanes = Math.min(Math.max(1, options.concurrency), items.length);
  await Promise.all(Array.from({ length: lanes }, lane));
  for (let i = 0; i < items.length; i++) {
    if (!started[i]) results[i] = notStarted(items[i] as T, i);
  }
  return results;
}
