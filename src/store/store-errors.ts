/**
 * The one place that tells "the store cannot be reached just now" from any other error, so
 * that the API answers 503 with Retry-After (not 500) and the workers wait and try again
 * (never marking a delivery failed) while the database restarts, fails over or is locked.
 */

/** How long a client is asked to wait before trying again (Retry-After, in seconds). */
export const STORE_RETRY_AFTER_SECONDS = 5;

/** Set by db.ts on errors that came from the store's own connections (see markIfStoreUnavailable). */
const UNAVAILABLE = Symbol.for('hibiki.storeUnavailable');

/**
 * Socket-level failures. They say nothing about *which* server failed (an SMTP relay gives
 * the same ECONNREFUSED), so they count only on errors from the store's own connections.
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs of a server going away, starting or full: class 08 (connection
 * exception), 57P01–57P03 (admin shutdown, crash shutdown, cannot connect now), 53300 (too
 * many connections).
 */
const PG_UNAVAILABLE = /^(08\d{3}|57P0[123]|53300)$/;

/** node-postgres says these in words, with no code. */
const PG_MESSAGES = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /Client has encountered a connection error and is not queryable/,
  /Client was closed and is not queryable/,
  /Connection ended unexpectedly/,
];

/** SQLite: another connection held the lock for longer than busy_timeout (SQLITE_BUSY_*, SQLITE_LOCKED_*). */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED)(_|$)/;

function codeOf(err: object): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(err: object): string {
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' ? message : '';
}

/** Every error err wraps (cause, AggregateError.errors), itself first. */
function* chain(err: unknown): Generator<object> {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    yield e;
    queue.push((e as { cause?: unknown }).cause);
    const inner = (e as { errors?: unknown }).errors;
    if (Array.isArray(inner)) queue.push(...inner);
  }
}

/** What the store's driver says when it cannot reach or lock the database, whoever the caller. */
function isDriverUnavailable(e: object, fromStoreConnection: boolean): boolean {
  const code = codeOf(e);
  if (code && (PG_UNAVAILABLE.test(code) || SQLITE_UNAVAILABLE.test(code))) return true;
  if (fromStoreConnection && code && NETWORK_CODES.has(code)) return true;
  const message = messageOf(e);
  return PG_MESSAGES.some((m) => m.test(message));
}

/** True when err (or what it wraps) says the store is unreachable or locked just now. */
export function isStoreUnavailable(err: unknown): boolean {
  for (const e of chain(err)) {
    if ((e as Record<symbol, unknown>)[UNAVAILABLE] === true) return true;
    if (isDriverUnavailable(e, false)) return true;
  }
  return false;
}

/**
 * For db.ts, on errors of the store's own connections: marks err when it is a connectivity
 * failure (a socket error counts here, since it is known to be the database's socket), so
 * that isStoreUnavailable() knows it wherever it is caught. Returns err.
 */
export function markIfStoreUnavailable<E>(err: E): E {
  if (err === null || typeof err !== 'object') return err;
  for (const e of chain(err)) {
    if (isDriverUnavailable(e, true)) {
      try {
        Object.defineProperty(err, UNAVAILABLE, { value: true });
      } catch {
        // A frozen error stays unmarked: it is then a 500 / an ordinary retry, never a lost delivery.
      }
      break;
    }
  }
  return err;
}
