import { Hono } from 'hono';
import { formatCapTime, truncateGraphemes, xmlText } from '../../channels/cap/build-cap.ts';
import type { Config } from '../config.ts';
import type { Links } from '../domain/links.ts';
import { markedTitle } from '../domain/marks.ts';
import { feedTitle, issuer, NOTICES_FEED_PATH, NOTICES_PATH } from '../domain/public-pages.ts';
import type { Revision } from '../domain/revision.ts';
import { isNotModified, sha256, wholeSecond } from '../http/conditional-get.ts';
import type { PublicNoticeQuery } from '../store/public-notices.ts';
import { ATOM_CONTENT_TYPE, atomBuilder } from './feeds.ts';
export interface NoticesFeedDeps {
  query: Pick<PublicNoticeQuery, 'active' | 'recentlyEnded' | 'recentRevisions' | 'lastChange'>;
  links: Pick<Links, 'noticePage'>;
  config: { publicBaseUrl: string; city: Pick<Config['city'], 'name' | 'nameEn'> };
  now?: () => Date;
}

/** Short, so a correction reaches feed readers within seconds while 304s keep polling cheap. */
const FEED_CACHE_CONTROL = 'public, max-age=30';
/** Entries in the feed; the active notices come first in choosing them. */
export const NOTICES_FEED_LIMIT = 100;
const SUMMARY_MAX = 500;

/**
 * XML 1.0 cannot carry most control characters even escaped (as in the CAP builder): text
 * pasted from other tools would otherwise make the whole feed unparsable.
 */
function summaryOf(revision: Revision): string {
  if (revision.kind === 'cancel') {
    const reason = revision.body.trim();
    return `この通知は取り消されました。${reason === '' ? '' : `理由: ${reason}`} (This notice was cancelled.)`;
  }
  return truncateGraphemes(xmlText(revision.body), SUMMARY_MAX);
}

const key = (r: Revision): string => `${r.noticeId}/${r.revision}`;

/**
 * GET /notices.atom — the residents' notices as Atom: each active notice's current
 * revision and its revisions of the last days, and recent cancellations, newest first.
 */
export function createNoticesFeedRoutes(deps: NoticesFeedDeps): Hono {
  const now = deps.now ?? (() => new Date());
  const base = deps.config.publicBaseUrl.replace(/\/+$/, '');
  const feedUrl = `${base}${NOTICES_FEED_PATH}`;
  const city = deps.config.city;
  const title = feedTitle(city);
  // What the feed shows besides its entries: part of the ETag so a changed setting is never a stale 304.
  const feedIdentity = JSON.stringify([feedUrl, title, deps.links.noticePage('x')]);

  async function entriesAt(at: Date): Promise<Revision[]> {
    const [active, ended] = await Promise.all([
      deps.query.active(at, NOTICES_FEED_LIMIT),
      deps.query.recentlyEnded(at, NOTICES_FEED_LIMIT),
    ]);
    const recent = await deps.query.recentRevisions(
      active.map((a) => a.current.noticeId),
      at,
    );
    const byKey = new Map<string, Revision>();
    for (const r of [
      ...active.map((a) => a.current),
      ...recent,
      // Withdrawn text is not repeated: only the cancellation of a cancelled notice.
      ...ended.filter((e) => e.how === 'cancelled').map((e) => e.current),
    ]) {
      byKey.set(key(r), r);
    }
    return [...byKey.values()]
      .sort((a, b) => b.sentAt.getTime() - a.sentAt.getTime() || (key(a) < key(b) ? 1 : -1))
      .slice(0, NOTICES_FEED_LIMIT);
  }

  const app = new Hono();

  app.get(NOTICES_FEED_PATH, async (c) => {
    const at = now();
    const [lastChange, entries] = await Promise.all([deps.query.lastChange(at), entriesAt(at)]);
    // Revisions never change once stored, so which ones are in the feed says what it holds.
    const etag = `"${sha256(JSON.stringify([feedIdentity, lastChange?.toISOString() ?? null, entries.map(key)]))}"`;
    c.header('ETag', etag);
    c.header('Cache-Control', FEED_CACHE_CONTROL);
    // As in /feeds/cap.atom: a Last-Modified whose second is still open could hide a change later in it.
    if (lastChange && wholeSecond(lastChange.getTime()) < wholeSecond(at.getTime())) {
      c.header('Last-Modified', lastChange.toUTCString());
    }
    if (isNotModified(c, etag, lastChange)) return c.body(null, 304);

    const feed = {
      '@_xmlns': 'http://www.w3.org/2005/Atom',
      '@_xml:lang': 'ja',
      id: feedUrl,
      title: xmlText(title),
      subtitle: xmlText(
        `${city.name}が発表している有効なお知らせと最近の訂正・取消。Active notices of ${city.nameEn}, with recent corrections and cancellations.`,
      ),
      updated: formatCapTime(lastChange ?? new Date(0)),
      author: { name: xmlText(`${city.name} (${city.nameEn})`) },
      link: [
        { '@_rel': 'self', '@_type': 'application/atom+xml', '@_href': feedUrl },
        { '@_rel': 'alternate', '@_type': 'text/html', '@_href': `${base}${NOTICES_PATH}` },
      ],
      generator: 'Hibiki',
      entry: entries.map((r) => {
        const pageUrl = deps.links.noticePage(r.noticeId);
        return {
          // The page's history lists each revision under this fragment.
          id: `${pageUrl}#revision-${r.revision}`,
          title: xmlText(markedTitle(r, 'ja')),
          updated: formatCapTime(r.sentAt),
          author: { name: xmlText(issuer(r.department, city)) },
          category: { '@_term': r.category },
          summary: summaryOf(r),
          link: { '@_rel': 'alternate', '@_type': 'text/html', '@_href': pageUrl },
        };
      }),
    };
    const xml = atomBuilder.build({ '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' }, feed }) as string;
    return c.body(xml, 200, { 'Content-Type': ATOM_CONTENT_TYPE });
  });

  return app;
}
