import type { MiddlewareHandler } from 'hono';

/** A year, and every subdomain: what browsers' preload lists ask for (without opting into preload). */
export const HSTS_VALUE = 'max-age=31536000; includeSubDomains';

/**
 * Strict-Transport-Security on every answer when the site is served over https
 * (PUBLIC_BASE_URL), so a browser that has seen it once never again asks over plain http
 * and a network attacker cannot strip TLS from a later visit. Set after the handler, so
 * error pages, redirects and the static files of Bull Board carry it too. Over http the
 * header means nothing to a browser and would only mislead: then nothing is sent.
 */
export function strictTransportSecurity(publicBaseUrl: string): MiddlewareHandler {
  const https = new URL(publicBaseUrl).protocol === 'https:';
  return async (c, next) => {
    await next();
    if (!https) return;
    try {
      c.res.headers.set('Strict-Transport-Security', HSTS_VALUE);
    } catch {
      // A Response with immutable headers (Response.redirect, a fetched one): copy it first.
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set('Strict-Transport-Security', HSTS_VALUE);
    }
  };
}
