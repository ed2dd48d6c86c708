import { createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from '../logger.ts';
import type { RateLimiter, RateLimitResult } from '../queue/rate-limit.ts';
import { clientAddress } from './client-address.ts';
import { ApiError, errorResponse } from './errors.ts';

/** ioredis queues commands while Redis is away (maxRetriesPerRequest: null): don't wait for it. */
const CHECK_TIMEOUT_MS = 1_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface PublicPostLimitOptions {
  limiter: RateLimiter;
  /** Names the counter, so that one kind of request does not use up another's allowance. */
  bucket: string;
  perClient: number;
  windowSeconds: number;
  logger: Logger;
  /** The client's address; default: clientAddress (the proxy-aware peer address). */
  clientOf?: (c: Context) => string;
}

/**
 * A per-client limit on a public POST that needs no staff token, counted in Redis so that
 * every API process shares it. Over the limit the request is answered 429 with
 * Retry-After and a bilingual body before anything is read, checked or stored.
 */
export function publicPostLimit(options: PublicPostLimitOptions): MiddlewareHandler {
  const clientOf = options.clientOf ?? clientAddress;
  let lastWarned = 0;
  return async (c, next) => {
    // The client's IP address is personal data: only its hash goes into a Redis key.
    const client = createHash('sha256').update(clientOf(c)).digest('base64url').slice(0, 22);
    let gate: RateLimitResult;
    try {
      gate = await withTimeout(
        options.limiter.hit(`${options.bucket}:${client}`, options.perClient, options.windowSeconds),
        CHECK_TIMEOUT_MS,
      );
    } catch (err) {
      // These requests need only the store: a resident unsubscribing or following the city
      // while Redis restarts is let through uncounted rather than refused.
      if (Date.now() - lastWarned > 60_000) {
        lastWarned = Date.now();
        options.logger.warn(
          { bucket: options.bucket, err: { message: (err as Error).message } },
          'rate limit could not be checked (Redis): letting public POSTs through uncounted',
        );
      }
      return next();
    }
    if (gate.allowed) return next();
    // Once per window, not per refused request: a flood must not become a flood of log lines.
    if (gate.count === options.perClient + 1) {
      options.logger.warn(
        { bucket: options.bucket, limit: options.perClient, windowSeconds: options.windowSeconds },
        'public POST over the per-client rate limit; refusing until the window ends',
      );
    }
    return errorResponse(
      c,
      new ApiError(
        429,
        'rate_limited',
        {
          ja: `短い間にリクエストが多すぎます。${gate.retryAfterSeconds} 秒後にもう一度お試しください`,
          en: `Too many requests from this client; try again in ${gate.retryAfterSeconds} seconds`,
        },
        { headers: { 'Retry-After': String(gate.retryAfterSeconds) } },
      ),
    );
  };
}

/**
 * The public POSTs that have no limit of their own, by path: each carries a resident's
 * signed link or secret, checked before any work, but checking still costs a request's
 * worth. (Sign-up, the manage-link form and push sign-up have SIGNUP_LIMIT_*; the LINE
 * webhook has its own.)
 */
export const LINKED_PUBLIC_POSTS = ['/unsubscribe', '/subscribe/confirm', '/manage', '/push/subscriptions/current'];

export interface PublicPostsLimitDeps {
  limiter: RateLimiter;
  perClient: number;
  windowSeconds: number;
  logger: Logger;
  clientOf?: (c: Context) => string;
}

/** PUBLIC_POST_LIMIT_* on LINKED_PUBLIC_POSTS, one counter per client for all of them. */
export function linkedPublicPostsLimit(deps: PublicPostsLimitDeps): MiddlewareHandler {
  const limit = publicPostLimit({ ...deps, bucket: 'client' });
  const paths = new Set(LINKED_PUBLIC_POSTS);
  return async (c, next) => (c.req.method === 'POST' && paths.has(c.req.path) ? limit(c, next) : next());
}
