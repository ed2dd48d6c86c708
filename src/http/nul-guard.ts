import type { MiddlewareHandler } from 'hono';
import { ApiError, errorResponseFor, NUL_REASON, nulFieldError } from './errors.ts';

/**
 * Refuses a URL whose path or query holds %00 before any route reads it: no id, cursor or
 * filter has one, and PostgreSQL would fail on it rather than find nothing. A query
 * parameter is named, as a field; the path is named as the path.
 */
export function refuseNulInUrl(): MiddlewareHandler {
  return async (c, next) => {
    const url = c.req.url;
    if (!url.includes('%00')) return next();
    const { pathname, searchParams } = new URL(url);
    if (pathname.includes('%00')) {
      return errorResponseFor(
        c,
        new ApiError(400, 'invalid_path', {
          ja: `URL のパスに ${NUL_REASON.ja}`,
          en: `The URL path ${NUL_REASON.en}`,
        }),
      );
    }
    for (const [name, value] of searchParams) {
      if (name.includes('\u0000') || value.includes('\u0000')) return errorResponseFor(c, nulFieldError(name));
    }
    return next();
  };
}
