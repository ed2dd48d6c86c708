import { createHash } from 'node:crypto';
import type { Context } from 'hono';

/**
 * Conditional GET (RFC 9110 §13): the ETag and Last-Modified checks every cached page and
 * feed answers 304 with, whether HTML (src/web) or XML (src/feeds).
 */

/** A short content hash, for ETags. */
export const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url').slice(0, 32);

/** RFC 9110 §13.1.2: If-None-Match uses the weak comparison. */
function etagMatches(header: string, etag: string): boolean {
  // What a poller sends back nearly every time: the ETag it was given, alone.
  if (header === etag) return true;
  if (header.trim() === '*') return true;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => bare(tag) === bare(etag));
}

export const wholeSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

/** If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 §13.1.3). */
export function isNotModified(c: Context, etag: string, lastModified: Date | null): boolean {
  const ifNoneMatch = c.req.header('if-none-match');
  if (ifNoneMatch !== undefined) return etagMatches(ifNoneMatch, etag);
  const ifModifiedSince = c.req.header('if-modified-since');
  if (ifModifiedSince === undefined || lastModified === null) return false;
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && wholeSecond(lastModified.getTime()) <= since;
}
