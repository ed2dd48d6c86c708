import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { type Context, Hono } from 'hono';
import { formatCapTime, truncateGraphemes } from '../../channels/cap/build-cap.ts';
import type { Links } from '../domain/links.ts';
import { isNotModified, sha256, wholeSecond } from '../http/conditional-get.ts';
import type { CapMessageRecord, CapMessageRepo } from '../store/cap-messages.ts';

export interface FeedRoutesDeps {
  capMessages: Pick<CapMessageRepo, 'get' | 'listActive' | 'feedVersion' | 'localWrites'>;
  links: Links;
  city: { code: string; name: string; nameEn: string };
  now?: () => Date;
  /** How long the feed's version, once read from the store, is trusted (FEED_RECHECK_MS). */
  recheckMs?: number;
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

/**
 * How long this process trusts the feed's version it last read from the store. Aggregators
 * poll the feed thousands of times a second between changes, so each process reads the
 * store at most this often (and at once after its own writes, or when a message's expiry
 * passes); another API process's new message shows here within this time.
 */
export const FEED_RECHECK_MS = 200;
/** CAP files kept in memory, most recently asked first; they never change once stored. */
const CAP_FILE_CACHE_BYTES = 16 * 1024 * 1024;

const utf8 = new TextEncoder();

/** Shared with the notices feed (src/feeds/notices-feed.ts): entities escaped, never string templates. */
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

function notFound(c: Context, what: string) {
  c.header('Cache-Control', 'no-cache');
  return c.json({ error: { code: 'not_found', message: `${what} が見つかりません (${what} not found)` } }, 404);
}

interface CapFile {
  etag: string;
  createdAt: Date;
  lastModified: string;
  xml: Uint8Array<ArrayBuffer>;
}

/**
 * Stored CAP messages never change (a new revision has a new identifier) and are never
 * deleted, so a file once read can be served from memory for good; over the byte budget
 * the least recently asked go first.
 */
function createCapFileCache(maxBytes: number) {
  const files = new Map<string, CapFile>();
  let bytes = 0;
  return {
    get(identifier: string): CapFile | undefined {
      const file = files.get(identifier);
      if (file) {
        files.delete(identifier);
        files.set(identifier, file);
      }
      return file;
    },
    set(identifier: string, file: CapFile) {
      if (files.has(identifier) || file.xml.byteLength > maxBytes) return;
      files.set(identifier, file);
      bytes += file.xml.byteLength;
      for (const [oldest, old] of files) {
        if (bytes <= maxBytes) break;
        files.delete(oldest);
        bytes -= old.xml.byteLength;
      }
    },
  };
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

  /**
   * The feed as of one reading of the store: its ETag, and its XML once a full GET asks.
   * It holds while no expiry is passed, this process has archived nothing since, and
   * recheckMs has not gone by; then the store is read again, and the XML is kept when the
   * ETag did not move.
   */
  interface FeedState {
    at: Date;
    validUntil: number;
    writes: number;
    etag: string;
    lastModified: Date | null;
    /**
     * Last-Modified has one-second resolution: while its second was still open when the
     * store was read, a second change could follow within it, and a client holding that
     * date would get a wrong 304. So none is sent then.
     */
    lastModifiedHeader: string | null;
    identifiers: string[];
    /** The XML, once built and found to match the identifiers read. */
    xml?: Uint8Array<ArrayBuffer>;
    building?: Promise<Uint8Array<ArrayBuffer>>;
  }
  const recheckMs = deps.recheckMs ?? FEED_RECHECK_MS;
  let state: FeedState | undefined;
  // One reading of the store at a time: the requests that find the state stale wait for it together.
  let reading: { writes: number; state: Promise<FeedState> } | undefined;

  const holds = (s: FeedState, t: number, writes: number) =>
    s.writes === writes && t >= s.at.getTime() && t < s.validUntil;

  async function read(at: Date, writes: number): Promise<FeedState> {
    const version = await deps.capMessages.feedVersion(at);
    const etag = `"${sha256(JSON.stringify([feedIdentity, version.lastModified?.toISOString() ?? null, version.identifiers]))}"`;
    const until = at.getTime() + recheckMs;
    const next: FeedState = {
      at,
      validUntil: version.nextExpiry ? Math.min(until, version.nextExpiry.getTime()) : until,
      writes,
      etag,
      lastModified: version.lastModified,
      lastModifiedHeader:
        version.lastModified && wholeSecond(version.lastModified.getTime()) < wholeSecond(at.getTime())
          ? version.lastModified.toUTCString()
          : null,
      identifiers: version.identifiers,
    };
    // The same ETag is the same feed: its XML, if built, still holds. (A slower reading
    // may land after a newer one; its state then fails holds() and costs one more reading.)
    if (state?.etag === etag && state.xml) next.xml = state.xml;
    state = next;
    return next;
  }

  async function currentFeed(at: Date): Promise<FeedState> {
    const writes = deps.capMessages.localWrites();
    if (state && holds(state, at.getTime(), writes)) return state;
    if (reading?.writes !== writes) {
      const pending = { writes, state: read(at, writes) };
      reading = pending;
      // A failed reading (the store away) is not kept: the next request tries again.
      const done = () => {
        if (reading === pending) reading = undefined;
      };
      pending.state.then(done, done);
    }
    return reading.state;
  }

  async function buildFeed(s: FeedState): Promise<{ xml: Uint8Array<ArrayBuffer>; identifiers: string[] }> {
    const records = await deps.capMessages.listActive(s.at);
    const feed = {
      '@_xmlns': 'http://www.w3.org/2005/Atom',
      '@_xml:lang': 'ja',
      id: feedUrl,
      title: feedTitle,
      subtitle: `${deps.city.name}が発表する有効な警報・避難情報など (CAP 1.2)。Active alerts and notices issued by ${deps.city.nameEn}.`,
      updated: formatCapTime(s.lastModified ?? new Date(0)),
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
    return { xml: utf8.encode(xml), identifiers: records.map((r) => r.identifier) };
  }

  /**
   * The feed's XML for a state, built once and kept. When a message came or went between
   * the state's reading and the list (its identifiers differ), the XML is newer than the
   * ETag: it is served to the requests waiting for it but not kept, and the next request
   * reads the store again.
   */
  function feedXml(s: FeedState): Promise<Uint8Array<ArrayBuffer>> {
    if (s.xml) return Promise.resolve(s.xml);
    if (s.building) return s.building;
    const building = buildFeed(s).then(({ xml, identifiers }) => {
      if (identifiers.join('\n') === s.identifiers.join('\n')) s.xml = xml;
      else s.validUntil = 0;
      return xml;
    });
    s.building = building;
    const done = () => {
      if (s.building === building) s.building = undefined;
    };
    building.then(done, done);
    return building;
  }

  app.get('/feeds/cap.atom', async (c) => {
    const s = await currentFeed(now());
    c.header('ETag', s.etag);
    c.header('Cache-Control', FEED_CACHE_CONTROL);
    if (s.lastModifiedHeader) c.header('Last-Modified', s.lastModifiedHeader);
    if (isNotModified(c, s.etag, s.lastModified)) return c.body(null, 304);
    return c.body(await feedXml(s), 200, { 'Content-Type': ATOM_CONTENT_TYPE });
  });

  const capFiles = createCapFileCache(CAP_FILE_CACHE_BYTES);

  app.get('/feeds/cap/:file', async (c) => {
    const file = c.req.param('file');
    const identifier = /^([^\s,&<]+)\.xml$/.exec(file)?.[1];
    if (!identifier) return notFound(c, file);
    let cached = capFiles.get(identifier);
    if (!cached) {
      const record = await deps.capMessages.get(identifier);
      // Not kept when unknown: the message may be archived a moment later.
      if (!record) return notFound(c, file);
      cached = {
        etag: `"${sha256(record.xml)}"`,
        createdAt: record.createdAt,
        lastModified: record.createdAt.toUTCString(),
        xml: utf8.encode(record.xml),
      };
      capFiles.set(identifier, cached);
    }
    c.header('ETag', cached.etag);
    c.header('Cache-Control', CAP_FILE_CACHE_CONTROL);
    c.header('Last-Modified', cached.lastModified);
    if (isNotModified(c, cached.etag, cached.createdAt)) return c.body(null, 304);
    return c.body(cached.xml, 200, { 'Content-Type': CAP_CONTENT_TYPE, 'X-Content-Type-Options': 'nosniff' });
  });

  return app;
}
