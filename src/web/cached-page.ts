import type { Context } from 'hono';
import { raw } from 'hono/html';
import type { FC } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isNotModified, sha256 } from '../http/conditional-get.ts';
import { sendPage } from './layout.tsx';
/**
 * Sends a public page that every reader sees the same, with an ETag of what it says, so a
 * reader (or a cache in between) holding the same page gets a 304 and no body.
 * `head` is added to the shared layout's head (styles, feed links), as resident-forms does.
 */
export async function sendCachedPage(
  c: Context,
  page: ReturnType<FC>,
  options: { status?: ContentfulStatusCode; cacheControl: string; head?: string },
): Promise<Response> {
  let html = String(await Promise.resolve(page?.toString() ?? ''));
  if (options.head) html = html.replace('</head>', `${options.head}</head>`);
  const etag = `"${sha256(html)}"`;
  if (isNotModified(c, etag, null)) {
    return c.body(null, 304, { ETag: etag, 'Cache-Control': options.cacheControl });
  }
  return sendPage(c, raw(html), options.status ?? 200, options.cacheControl, { ETag: etag });
}
