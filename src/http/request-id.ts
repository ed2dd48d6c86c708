import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './auth.ts';

/**
 * A request id the server makes for every request, sent back as X-Request-Id so a member of
 * staff can quote it. An id the caller sends is ignored, never echoed or logged: hono's
 * requestId() keeps one, which let any caller plant a line's id in the log (or give two
 * requests the same one) and reflect text of its choosing in a response header.
 */
export function serverRequestId(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const id = randomUUID();
    c.set('requestId', id);
    c.header('X-Request-Id', id);
    await next();
  };
}
