import { createHash } from 'node:crypto';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { type Context, Hono } from 'hono';
import { formatCapTime, truncateGraphemes } from '../../channels/cap/build-cap.ts';
import type { Links } from '../domain/links.ts';
import type { CapMessageRecord, CapMessageRepo } from '../store/cap-messages.ts';

export interface FeedRoutesDeps {
  capMessages: Pick<CapMessageRepo, 'get' | 'listActive' | 'listActiveIdentifiers' | 'lastModified'>;
  links: Links;
  city: { code: string; name: string; nameEn: string };
  now?: () => Date;
}

/**
 * application/cap+xml is what CAP aggregators and the Atom link type expect (Google Public
 * Alerts, national hubs); it is not IANA-registered, but its +xml suffix makes browsers
 * and generic XML tools treat it as XML (RFC 6839), so nothing is lost against
 * application/xml and the file's type matches the type its feed link announces.
 */
export const CAP_CONTENT_TYPE = 'application/cap+xml; charset=utf-8';
export const ATOM_CONTENT_TYPE = 'application/atom+xml; charset=utf-8';

/** Short, so an alert reaches aggregators within seconds while 304s keep polling cheap. */
const FEED_CACHE_CONTROL = 'public, max-age=10';
/** A CAP message never changes once stored: a new revision has a new identifier and URL. */
const CAP_FILE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

const SUMMARY_MAX = 500;
const SUMMARY_CACHE_MAX = 1000;

/** Shared with the notices feed (src/api/notices-feed.ts): entities escaped, never string templates. */
export const atomBuilder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
  processEntities: true,
});

// parseTagValue off: a headline like "2026" must stay text, not become a number.
const capParser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  removeNSPrefix: true,
  isArray: (name) => name === 'info',
});

interface EntryText {
  headline: string;
  summary: string;
}

const textOf = (value: unknown): string => (typeof value === 'string' ? value : '');

function readEntryText(record: CapMessageRecord): EntryText {
  const parsed = capParser.parse(record.xml) as { alert?: { info?: Array<Record<string, unknown>> } };
  const info = parsed.alert?.info?.[0] ?? {};
  const headline = textOf(info.headline) || textOf(info.event) || record.identifier;
  const summary = truncateGraphemes(textOf(info.description) || headline, SUMMARY_MAX);
  return { headline, summary };
}

/** A short content hash, for ETags. */
export const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url').slice(0, 32);

/** RFC 9110 §13.1.2: If-None-Match uses the weak comparison. */
function etagMatches(header: string, etag: string): boolean {
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

function notFound(c: Context, what: string) {
  c.header('Cache-Control', 'no-cache');
  return c.json({ error: { code: 'not_found', message: `${what} が見つかりません (${what} not found)` } }, 404);
}

/**
 * The public CAP feed: an Atom index of the active messages (as Google Public Alerts and
 * L-Alert style aggregators poll it) and each message as an immutable file.
 */
export function createFeedRoutes(deps: FeedRoutesDeps): Hono {
  const now = deps.now ?? (() => new Date());
  const feedUrl = deps.links.capFeed();
  const feedTitle = `${deps.city.name} 防災・緊急情報 CAPフィード (${deps.city.nameEn} emergency alerts CAP feed)`;
  // What the feed shows besides its messages; part of the ETag so a changed setting
  // is never answered with a stale 304.
  const feedIdentity = JSON.stringify([feedUrl, feedTitle, deps.links.capFile('x'), deps.links.noticePage('x')]);

  // Stored messages never change, so their parsed headline and summary can be kept.
  const entryTexts = new Map<string, EntryText>();
  const entryText = (record: CapMessageRecord): EntryText => {
    let text = entryTexts.get(record.identifier);
    if (!text) {
      text = readEntryText(record);
      if (entryTexts.size >= SUMMARY_CACHE_MAX) {
        const oldest = entryTexts.keys().next().value;
        if (oldest !== undefined) entryTexts.delete(oldest);
      }
      entryTexts.set(record.identifier, text);
    }
    return text;
  };

  const app = new Hono();

  app.get('/feeds/cap.atom', async (c) => {
    const at = now();
    // Two light queries decide a 304 before any XML is read.
    const [lastModified, identifiers] = await Promise.all([
      deps.capMessages.lastModified(at),
      deps.capMessages.listActiveIdentifiers(at),
    ]);
    const etag = `"${sha256(JSON.stringify([feedIdentity, lastModified?.toISOString() ?? null, identifiers]))}"`;
    c.header('ETag', etag);
    c.header('Cache-Control', FEED_CACHE_CONTROL);
    // Last-Modified has one-second resolution: while its second is still open a second
    // change could follow within it, and a client holding that date would get a wrong 304.
    if (lastModified && wholeSecond(lastModified.getTime()) < wholeSecond(at.getTime())) {
      c.header('Last-Modified', lastModified.toUTCString());
    }
    if (isNotModified(c, etag, lastModified)) return c.body(null, 304);

    const records = await deps.capMessages.listActive(at);
    const feed = {
      '@_xmlns': 'http://www.w3.org/2005/Atom',
      '@_xml:lang': 'ja',
      id: feedUrl,
      title: feedTitle,
      subtitle: `${deps.city.name}が発表する有効な警報・避難情報など (CAP 1.2)。Active alerts and notices issued by ${deps.city.nameEn}.`,
      updated: formatCapTime(lastModified ?? new Date(0)),
      author: { name: `${deps.city.name} (${deps.city.nameEn})` },
      link: { '@_rel': 'self', '@_type': 'application/atom+xml', '@_href': feedUrl },
      generator: 'Hibiki',
      entry: records.map((record) => {
        const text = entryText(record);
        const capUrl = deps.links.capFile(record.identifier);
        return {
          id: capUrl,
          title: text.headline,
          updated: formatCapTime(record.sentAt),
          summary: text.summary,
          link: [
            { '@_rel': 'alternate', '@_type': 'application/cap+xml', '@_href': capUrl },
            { '@_rel': 'related', '@_type': 'text/html', '@_href': deps.links.noticePage(record.noticeId) },
          ],
        };
      }),
    };
    const xml = atomBuilder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, feed }) as string;
    return c.body(xml, 200, { 'Content-Type': ATOM_CONTENT_TYPE });
  });

  app.get('/feeds/cap/:file', async (c) => {
    const file = c.req.param('file');
    const identifier = /^([^\s,&<]+)\.xml$/.exec(file)?.[1];
    const record = identifier ? await deps.capMessages.get(identifier) : null;
    if (!record) return notFound(c, file);

    const etag = `"${sha256(record.xml)}"`;
    c.header('ETag', etag);
    c.header('Cache-Control', CAP_FILE_CACHE_CONTROL);
    c.header('Last-Modified', record.createdAt.toUTCString());
    if (isNotModified(c, etag, record.createdAt)) return c.body(null, 304);
    return c.body(record.xml, 200, { 'Content-Type': CAP_CONTENT_TYPE, 'X-Content-Type-Options': 'nosniff' });
  });

  return app;
}
