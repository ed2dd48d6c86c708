import { describe, expect, it } from 'vitest';
import { sendEach } from '../../../channels/shared/send-each.ts';

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));
const items = (n: number) => Array.from({ length: n }, (_, i) => i);
const ctxOf = (signal = new AbortController().signal, waitTurn?: () => Promise<void> | undefined) => ({
  signal,
  ...(waitTurn ? { waitTurn } : {}),
});

describe('sendEach', () => {
  it('keeps at most `concurrency` in flight and gives results in input order', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await sendEach(
      items(10),
      { concurrency: 3, ctx: ctxOf() },
      async (n) => {
        inFlight++;
        most = Math.max(most, inFlight);
        // Later items finish first: the order must still be the input's.
        await tick(20 - n * 2);
        inFlight--;
        return `sent ${n}`;
      },
      (n) => `not started ${n}`,
    );
    expect(most).toBe(3);
    expect(results).toEqual(items(10).map((n) => `sent ${n}`));
  });

  it('sends nothing of an empty batch', async () => {
    expect(
      await sendEach(
        [],
        { concurrency: 4, ctx: ctxOf() },
        async () => 1,
        () => 0,
      ),
    ).toEqual([]);
  });

  it('awaits waitTurn before each start', async () => {
    let letGo: () => void = () => undefined;
    let gate: Promise<void> | undefined = new Promise<void>((resolve) => {
      letGo = () => {
        gate = undefined;
        resolve();
      };
    });
    let turns = 0;
    const started: number[] = [];
    const sending = sendEach(
      items(4),
      {
        concurrency: 2,
        ctx: ctxOf(undefined, () => {
          turns++;
          return gate;
        }),
      },
      async (n) => {
        started.push(n);
        return n;
      },
      () => -1,
    );
    await tick(20);
    expect(started).toEqual([]);
    expect(turns).toBe(2);
    letGo();
    expect(await sending).toEqual([0, 1, 2, 3]);
    expect(turns).toBe(4);
  });

  it('starts nothing more once the signal aborts; those not started get notStarted', async () => {
    const abort = new AbortController();
    const results = await sendEach(
      items(6),
      { concurrency: 2, ctx: ctxOf(abort.signal) },
      async (n) => {
        if (n === 2) abort.abort();
        await tick();
        return `sent ${n}`;
      },
      (n) => `retry ${n}`,
    );
    // 0 and 1 were in flight and 2 started next (and aborts): those finish, nothing else starts.
    expect(results).toEqual(['sent 0', 'sent 1', 'sent 2', 'retry 3', 'retry 4', 'retry 5']);
  });

  it('starts nothing when the signal aborts while waiting its turn', async () => {
    const abort = new AbortController();
    const results = await sendEach(
      items(3),
      { concurrency: 1, ctx: ctxOf(abort.signal, () => tick().then(() => abort.abort())) },
      async (n) => `sent ${n}`,
      (n) => `retry ${n}`,
    );
    expect(results).toEqual(['retry 0', 'retry 1', 'retry 2']);
  });

  it('stops starting when `stop` says so', async () => {
    let down = false;
    const results = await sendEach(
      items(5),
      { concurrency: 1, ctx: ctxOf(), stop: () => down },
      async (n) => {
        if (n === 1) down = true;
        return `sent ${n}`;
      },
      (n) => `left ${n}`,
    );
    expect(results).toEqual(['sent 0', 'sent 1', 'left 2', 'left 3', 'left 4']);
  });
});
