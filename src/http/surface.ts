import type { MiddlewareHandler } from 'hono';
import { notFound } from './errors.ts';

/**
 * Which routes a listener answers. `all` is one listener for everything (ADMIN_PORT unset).
 * With ADMIN_PORT, `public` faces the internet: residents' pages, feeds, the LINE webhook and
 * the public subscription API; `admin` is for staff and operations on the office network:
 * the console (and Bull Board under it), the staff API, /metrics, /docs and /openapi.json.
 */
export type Surface = 'all' | 'public' | 'admin';

/** Probes of a load balancer or orchestrator, on every listener. */
const BOTH = new Set(['/healthz', '/readyz']);

/**
 * What residents and LINE reach. Listed, not inferred: a route added later is staff-only
 * until it is named here, so nothing new reaches the internet by accident.
 */
const PUBLIC =
  /^\/(?:notices(?:\/|\.atom$|$)|feeds\/|webhooks\/line$|v1\/public(?:\/|$)|subscribe(?:\/|$)|manage(?:\/|$)|unsubscribe$|push(?:\/|$)|sw\.js$|manifest\.webmanifest$)/;

/** The listener a request path belongs to: the path as Hono's router matches it (c.req.path). */
export function surfaceOfPath(path: string): 'public' | 'admin' | 'both' {
  if (BOTH.has(path)) return 'both';
  return PUBLIC.test(path) ? 'public' : 'admin';
}

/**
 * Answers a path of the other listener exactly as an unknown route (the same JSON 404), so
 * the public port does not even tell that a console exists.
 */
export function onlySurface(surface: Surface): MiddlewareHandler {
  return async (c, next) => {
    if (surface === 'all') return next();
    const of = surfaceOfPath(c.req.path);
    if (of === 'both' || of === surface) return next();
    return notFound(c);
  };
}
