import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from '../logger.ts';
import type { RateLimiter } from '../queue/rate-limit.ts';
import { errorResponseFor, payloadTooLarge } from './errors.ts';
import { publicPostLimit } from './public-post-limit.ts';

/**
 * What anyone may send without a token is small: a sign-up, a push subscription, a
 * resident's form. 16 KiB holds the largest of them (every area of a city ticked) many
 * times over; the 1 MiB allowed elsewhere let one request of 105,000 unknown keys cost
 * 300 ms of the event loop the delivery workers share in `hibiki all`.
 */
export const PUBLIC_BODY_MAX_BYTES = 16 * 1024;

/** The routes anyone may send a body to (the LINE webhook, signed and limited of its own, is not one). */
const PUBLIC_BODY_PATHS = new Set([
  '/subscribe',
  '/subscribe/confirm',
  '/manage',
  '/manage/link',
  '/unsubscribe',
  '/console/login',
]);
const PUBLIC_BODY_PREFIXES = ['/v1/public/', '/push/'];

export function isPublicBody(path: string): boolean {
  return PUBLIC_BODY_PATHS.has(path) || PUBLIC_BODY_PREFIXES.some((prefix) => path.startsWith(prefix));
}

/**
 * The public JSON routes counted per client before their body is read (the resident-link
 * POSTs, /push/subscriptions/current among them, are counted by linkedPublicPostsLimit).
 * Their own, tighter limits (SIGNUP_LIMIT_*) need the parsed body and come after.
 */
const COUNTED_BEFORE_PARSING = new Set([
  'POST /v1/public/subscriptions',
  'POST /push/subscriptions',
  'DELETE /push/subscriptions',
]);

export interface PublicBodiesDeps {
  limiter: RateLimiter;
  /** PUBLIC_POST_LIMIT_*: the same per-client count as the resident-link POSTs. */
  perClient: number;
  windowSeconds: number;
  logger: Logger;
  clientOf?: (c: Context) => string;
}

/**
 * For a public route: count the request against its client, then refuse a body over
 * PUBLIC_BODY_MAX_BYTES with a bilingual 413, both before a byte of it is parsed. A body
 * with a Content-Length over the cap is refused without being read at all.
 */
export function publicBodies(deps: PublicBodiesDeps): MiddlewareHandler {
  const count = publicPostLimit({ ...deps, bucket: 'client' });
  const cap = bodyLimit({
    maxSize: PUBLIC_BODY_MAX_BYTES,
    onError: (c) => errorResponseFor(c, payloadTooLarge(PUBLIC_BODY_MAX_BYTES)),
  });
  return async (c, next) => {
    const { method, path } = c.req;
    if (method === 'GET' || method === 'HEAD' || !isPublicBody(path)) return next();
    if (COUNTED_BEFORE_PARSING.has(`${method} ${path}`)) {
      // Answers the 429 itself, or goes on (to nothing) when the client is within the limit.
      const refused = await count(c, async () => {});
      if (refused) return refused;
    }
    return cap(c, next);
  };
}
