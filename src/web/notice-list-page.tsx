import { Hono } from 'hono';
import type { FC } from 'hono/jsx';
import { KIND_WORD, SEVERITY_COLOUR } from '../domain/labels.ts';
import { markedTitle } from '../domain/marks.ts';
import { issuer, NOTICES_FEED_PATH, NOTICES_PATH } from '../domain/public-pages.ts';
import { type ActiveNotice, type EndedNotice, type PublicNoticeQuery, RECENT_DAYS } from '../store/public-notices.ts';
import { sendCachedPage } from './cached-page.ts';
import { En, Layout } from './layout.tsx';
import {
  AreaWords,
  CategoryWords,
  JstTime,
  type NoticeRenderContext,
  noticePath,
  PUBLIC_NOTICE_CACHE,
  SeverityBadge,
} from './notice-parts.tsx';
/** Enough for every notice a city has in force at once; more would only slow the page for phones. */
export const ACTIVE_LIMIT = 100;
export const ENDED_LIMIT = 20;

export interface NoticeListDeps {
  query: Pick<PublicNoticeQuery, 'active' | 'recentlyEnded'>;
  ctx: NoticeRenderContext;
  /** Added to the layout's head: the notice styles and the feed link. */
  head: string;
}

const ActiveItem: FC<{ item: ActiveNotice; ctx: NoticeRenderContext }> = ({ item, ctx }) => {
  const r = item.current;
  return (
    <li style={`border-left-color:${SEVERITY_COLOUR[r.severity]}`}>
      <h3>
        <a href={noticePath(r.noticeId)}>{markedTitle(r, 'ja')}</a>
      </h3>
      <SeverityBadge severity={r.severity} />
      <dl class="facts">
        <dt>
          分類 <span lang="en">Category</span>
        </dt>
        <dd>
          <CategoryWords category={r.category} />
        </dd>
        <dt>
          対象地域 <span lang="en">Area</span>
        </dt>
        <dd>
          <AreaWords areas={r.areas.map(ctx.areaName)} city={ctx.city} />
        </dd>
        <dt>
          発表日時 <span lang="en">Issued</span>
        </dt>
        <dd>
          <JstTime at={item.firstSentAt} />
        </dd>
        {r.kind === 'update' && (
          <>
            <dt>
              訂正日時 <span lang="en">Corrected</span>
            </dt>
            <dd>
              <JstTime at={r.sentAt} /> （第{r.revision}版）
            </dd>
          </>
        )}
        <dt>
          発表元 <span lang="en">Issued by</span>
        </dt>
        <dd>{issuer(r.department, ctx.city)}</dd>
      </dl>
    </li>
  );
};

const EndedItem: FC<{ item: EndedNotice }> = ({ item }) => {
  const r = item.current;
  const how = item.how === 'cancelled' ? KIND_WORD.cancel : { ja: '期限切れ', en: 'Expired' };
  return (
    <li>
      <a href={noticePath(r.noticeId)}>{markedTitle(r, 'ja')}</a> — {how.ja} <span lang="en">({how.en})</span>:{' '}
      <JstTime at={item.endedAt} />
    </li>
  );
};

const NoticeList: FC<{ active: ActiveNotice[]; more: boolean; ended: EndedNotice[]; ctx: NoticeRenderContext }> = ({
  active,
  more,
  ended,
  ctx,
}) => (
  <>
    <h1>
      お知らせ一覧 <En>Notices</En>
    </h1>
    <p>
      {ctx.city.name}が発表している、いま有効なお知らせです。重要度の高い順、新しい順に並んでいます。
      <En>Notices {ctx.city.nameEn} has issued that are in force now, the most severe and newest first.</En>
    </p>
    <section aria-labelledby="active">
      <h2 id="active">
        発表中のお知らせ（{active.length}件） <span lang="en">Active notices ({active.length})</span>
      </h2>
      {active.length === 0 ? (
        <p>
          現在、発表中のお知らせはありません。<En>There are no active notices.</En>
        </p>
      ) : (
        <ol class="notices">
          {active.map((item) => (
            <ActiveItem item={item} ctx={ctx} />
          ))}
        </ol>
      )}
      {more && (
        <p class="muted">
          重要度の高い順・新しい順に{ACTIVE_LIMIT}件まで表示しています。
          <En>Showing the first {ACTIVE_LIMIT}, the most severe and newest first.</En>
        </p>
      )}
    </section>
    {ended.length > 0 && (
      <section aria-labelledby="ended">
        <h2 id="ended">
          最近終了したお知らせ <span lang="en">Recently ended (last {RECENT_DAYS} days)</span>
        </h2>
        <p class="muted">
          過去{RECENT_DAYS}日間に取り消された、または有効期限が切れたお知らせです。
          <En>Cancelled or expired in the last {RECENT_DAYS} days.</En>
        </p>
        <ul>
          {ended.map((item) => (
            <EndedItem item={item} />
          ))}
        </ul>
      </section>
    )}
    <p>
      <a href={NOTICES_FEED_PATH} type="application/atom+xml">
        Atom フィード <span lang="en">Atom feed</span>
      </a>
    </p>
  </>
);

/** GET /notices — what is in force now, for residents checking the city's situation. */
export function createNoticeListRoutes(deps: NoticeListDeps): Hono {
  const app = new Hono();
  const { city } = deps.ctx;

  app.get(NOTICES_PATH, async (c) => {
    const now = new Date();
    // One more than shown tells whether some were left out.
    const [found, ended] = await Promise.all([
      deps.query.active(now, ACTIVE_LIMIT + 1),
      deps.query.recentlyEnded(now, ENDED_LIMIT),
    ]);
    const active = found.slice(0, ACTIVE_LIMIT);
    return sendCachedPage(
      c,
      <Layout title={`お知らせ一覧 / Notices | ${city.name}`} siteName={city.name} siteNameEn={city.nameEn}>
        <NoticeList active={active} more={found.length > ACTIVE_LIMIT} ended={ended} ctx={deps.ctx} />
      </Layout>,
      { cacheControl: PUBLIC_NOTICE_CACHE, head: deps.head },
    );
  });

  return app;
}
