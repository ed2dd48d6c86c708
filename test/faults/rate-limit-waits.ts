/** One request as a fake logged it: what it was for (key), how it was answered, and when. */
export interface LoggedExchange {
  /** The batch or recipient it belongs to (LINE retry key, X post text, webhook-id, push subscription). */
  key: string | undefined;
  status: number;
  /** Date.now() on arrival. */
  at?: number;
  /** Date.now() when the answer went out. */
  answeredAt?: number;
}

export interface RateLimitWaits {
  /** Requests answered 429. */
  answered429: number;
  /** For each 429 followed by another request of the same key: ms from the 429 going out to that request arriving. */
  waits: number[];
  /** The most 429s one key received: more than the delivery's attempts shows a rate limit used none of them. */
  most429sForOneKey: number;
}

/** How long the client waited after each 429 before asking again for the same batch, from a fake's own log. */
export function rateLimitWaits(log: LoggedExchange[]): RateLimitWaits {
  const byKey = new Map<string, LoggedExchange[]>();
  for (const e of log) {
    if (e.key === undefined) continue;
    const list = byKey.get(e.key);
    if (list) list.push(e);
    else byKey.set(e.key, [e]);
  }
  const waits: number[] = [];
  let answered429 = 0;
  let most = 0;
  for (const list of byKey.values()) {
    let n = 0;
    list.forEach((e, i) => {
      if (e.status !== 429) return;
      answered429++;
      n++;
      const next = list[i + 1];
      if (next?.at !== undefined && e.answeredAt !== undefined) waits.push(next.at - e.answeredAt);
    });
    most = Math.max(most, n);
  }
  return { answered429, waits, most429sForOneKey: most };
}
