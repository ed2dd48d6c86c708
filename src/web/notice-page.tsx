import { Hono } from 'hono';
import type { Child, FC } from 'hono/jsx';
import type { Deps } from '../deps.ts';
import { KIND_WORD, SEVERITY_WORD } from '../domain/labels.ts';
import { issuer, NOTICES_PATH } from '../domain/public-pages.ts';
import type { Revision } from '../domain/revision.ts';
import { changedFields, type PublicField } from '../domain/revision-changes.ts';
import { createPublicNoticeQuery } from '../store/public-notices.ts';
import { sendCachedPage } from './cached-page.ts';
import { En, formatJst, formatJstEn, Layout, sendPage } from './layout.tsx';
import { createNoticeListRoutes } from './notice-list-page.tsx';
import {
  AreaWords,
  CategoryWords,
  FIELD_WORD,
  feedLinkHead,
  JstTime,
  NOTICE_CSS,
  type NoticeRenderContext,
  PUBLIC_NOTICE_CACHE,
  SeverityBadge,
} from './notice-parts.tsx';
export type NoticePageDeps = Pick<Deps, 'store' | 'areas' | 'config' | 'links'>;

const Paragraphs: FC<{ text: string }> = ({ text }) => {
  const paragraphs = text
    .replace(/\r\n?/g, '\n')
    .trim()
    .split(/\n\s*\n/)
    .filter((p) => p.trim() !== '');
  return (
    <div class="body">
      {paragraphs.map((p) => (
        <p>
          {p.split('\n').map((line, i) => (
            <>
              {i > 0 && <br />}
              {line}
            </>
          ))}
        </p>
      ))}
    </div>
  );
};

const safeLink = (link: string | null): string | null => (link && /^https?:\/\//i.test(link) ? link : null);

/** One field's value as a resident reads it, for the before → after of a correction. */
const FieldValue: FC<{ field: Exclude<PublicField, 'body'>; revision: Revision; ctx: NoticeRenderContext }> = ({
  field,
  revision,
  ctx,
}) => {
  const none = (
    <>
      なし <span lang="en">(none)</span>
    </>
  );
  switch (field) {
    case 'title':
      return <>{revision.title}</>;
    case 'severity':
      return (
        <>
          {SEVERITY_WORD.ja[revision.severity]} <span lang="en">({SEVERITY_WORD.en[revision.severity]})</span>
        </>
      );
    case 'category':
      return <CategoryWords category={revision.category} />;
    case 'areas':
      return <AreaWords areas={revision.areas.map(ctx.areaName)} city={ctx.city} />;
    case 'expiresAt':
      return revision.expiresAt ? <JstTime at={revision.expiresAt} /> : none;
    case 'department':
      return <>{issuer(revision.department, ctx.city)}</>;
    case 'link':
      return revision.link ? revision.link : none;
  }
};

const FieldName: FC<{ field: PublicField }> = ({ field }) => (
  <strong>
    {FIELD_WORD[field].ja} <span lang="en">{FIELD_WORD[field].en}</span>:
  </strong>
);

/** 変更点: each field the latest correction changed, before → after. */
const WhatChanged: FC<{ before: Revision; after: Revision; ctx: NoticeRenderContext }> = ({ before, after, ctx }) => {
  const fields = changedFields(before, after);
  return (
    <section class="changes" aria-labelledby="changes">
      <h2 id="changes">
        変更点 <span lang="en">What changed</span>
      </h2>
      <p>
        第{before.revision}版からの変更
        <En>Changes from revision {before.revision}</En>
      </p>
      {fields.length === 0 ? (
        <p>
          お知らせの内容に変更はありません。<En>Nothing residents read has changed.</En>
        </p>
      ) : (
        <ul>
          {fields.map((field) =>
            field === 'body' ? (
              <li>
                <FieldName field="body" /> 訂正されました。下の本文が訂正後の内容です。
                <En>Corrected; the text below is the corrected one.</En>
                <details>
                  <summary>
                    訂正前の本文 <span lang="en">Text before the correction</span>
                  </summary>
                  <div class="withdrawn">
                    <Paragraphs text={before.body} />
                  </div>
                </details>
              </li>
            ) : (
              <li>
                <FieldName field={field} />{' '}
                <span class="vh">
                  訂正前 <span lang="en">before</span>:{' '}
                </span>
                <FieldValue field={field} revision={before} ctx={ctx} />
                <span class="arrow" aria-hidden="true">
                  →
                </span>
                <span class="vh">
                  訂正後 <span lang="en">after</span>:{' '}
                </span>
                <FieldValue field={field} revision={after} ctx={ctx} />
              </li>
            ),
          )}
        </ul>
      )}
    </section>
  );
};

const Facts: FC<{ shown: Revision; first: Revision; corrected: Revision | undefined; ctx: NoticeRenderContext }> = ({
  shown,
  first,
  corrected,
  ctx,
}) => {
  const row = (ja: string, en: string, value: Child) => (
    <>
      <dt>
        {ja} <span lang="en">{en}</span>
      </dt>
      <dd>{value}</dd>
    </>
  );
  return (
    <dl class="facts">
      {row('重要度', 'Severity', <SeverityBadge severity={shown.severity} />)}
      {row('分類', 'Category', <CategoryWords category={shown.category} />)}
      {row('対象地域', 'Area', <AreaWords areas={shown.areas.map(ctx.areaName)} city={ctx.city} />)}
      {row('発表元', 'Issued by', issuer(shown.department, ctx.city))}
      {row('発表日時', 'Issued', <JstTime at={first.sentAt} />)}
      {corrected && row('訂正日時', 'Corrected', <JstTime at={corrected.sentAt} />)}
      {shown.expiresAt && row('有効期限', 'Expires', <JstTime at={shown.expiresAt} />)}
    </dl>
  );
};

const History: FC<{ revisions: Revision[] }> = ({ revisions }) => (
  <section aria-labelledby="history">
    <h2 id="history">
      更新の履歴 <span lang="en">History</span>
    </h2>
    <ol class="history">
      {revisions.map((r, i) => {
        const before = revisions[i - 1];
        const fields = r.kind === 'update' && before ? changedFields(before, r) : [];
        return (
          <li id={`revision-${r.revision}`}>
            第{r.revision}版 {KIND_WORD[r.kind].ja} <span lang="en">({KIND_WORD[r.kind].en})</span>:{' '}
            <JstTime at={r.sentAt} />
            {r.kind === 'update' && ` — 第${r.revision - 1}版を訂正`}
            {fields.length > 0 && (
              <>
                {`（${fields.map((f) => FIELD_WORD[f].ja).join('、')}）`}
                <span lang="en"> ({fields.map((f) => FIELD_WORD[f].en).join(', ')})</span>
              </>
            )}
          </li>
        );
      })}
    </ol>
  </section>
);

interface NoticeBodyProps {
  /** Public revisions, oldest first: those whose time has come. */
  revisions: Revision[];
  ctx: NoticeRenderContext;
  now: Date;
}

const NoticeBody: FC<NoticeBodyProps> = ({ revisions, ctx, now }) => {
  const latest = revisions[revisions.length - 1] as Revision;
  const first = revisions[0] as Revision;
  const cancelled = latest.kind === 'cancel';
  // A cancellation carries only its reason; what was withdrawn is the revision before it.
  const shown = cancelled ? (revisions[revisions.length - 2] ?? latest) : latest;
  const previous = latest.kind === 'update' ? revisions[revisions.length - 2] : undefined;
  const corrected = revisions.filter((r) => r.kind === 'update').at(-1);
  const expired = !cancelled && shown.expiresAt !== null && shown.expiresAt <= now;
  const link = safeLink(shown.link);
  return (
    <article aria-labelledby="notice-title">
      {cancelled && (
        <div class="banner cancel" role="status">
          この通知は {formatJst(latest.sentAt)} に取り消されました。下の内容は現在有効ではありません。
          <En>This notice was cancelled on {formatJstEn(latest.sentAt)}. What follows is no longer in force.</En>
          {latest.body.trim() !== '' && <p>取消の理由: {latest.body}</p>}
        </div>
      )}
      {expired && shown.expiresAt && (
        <div class="banner cancel" role="status">
          この通知は {formatJst(shown.expiresAt)} に有効期限が切れました。
          <En>This notice expired on {formatJstEn(shown.expiresAt)}.</En>
        </div>
      )}
      {!cancelled && latest.kind === 'update' && (
        <div class="banner update" role="status">
          この通知は {formatJst(latest.sentAt)} に訂正されました（第{latest.revision}版）。以下は訂正後の内容です。
          <En>This notice was corrected (revision {latest.revision}); what follows is the corrected text.</En>
        </div>
      )}
      {shown.mode !== 'actual' && (
        <div class="banner drill">
          {shown.mode === 'exercise'
            ? '【訓練】これは訓練のための通知です。'
            : '【テスト】これはシステムのテスト配信です。'}
          <En>{shown.mode === 'exercise' ? 'This is an exercise.' : 'This is a system test.'}</En>
        </div>
      )}
      <h1 id="notice-title">
        {cancelled && <span>【取消】</span>}
        {shown.title}
      </h1>
      <Facts shown={shown} first={first} corrected={cancelled ? undefined : corrected} ctx={ctx} />
      {cancelled ? (
        <details>
          <summary>
            取り消された内容 <span lang="en">The withdrawn text</span>
          </summary>
          <div class="withdrawn">
            <Paragraphs text={shown.body} />
          </div>
        </details>
      ) : (
        <>
          {previous && <WhatChanged before={previous} after={latest} ctx={ctx} />}
          <Paragraphs text={shown.body} />
          {link && (
            <p>
              関連リンク <span lang="en">Related link</span>:{' '}
              <a href={link} rel="noopener noreferrer external">
                {link}
              </a>
            </p>
          )}
        </>
      )}
      {revisions.length > 1 && <History revisions={revisions} />}
      <p>
        <a href={NOTICES_PATH}>
          発表中のお知らせ一覧 <span lang="en">All active notices</span>
        </a>
      </p>
    </article>
  );
};

const NotFoundBody: FC = () => (
  <>
    <h1>お知らせが見つかりません</h1>
    <p>
      このアドレスのお知らせはありません。リンクが途中で切れていないか確かめてください。
      <En>No notice exists at this address. Check that the link is complete.</En>
    </p>
    <p>
      <a href={NOTICES_PATH}>
        発表中のお知らせ一覧 <span lang="en">All active notices</span>
      </a>
    </p>
  </>
);

/**
 * The residents' public notice pages: GET /notices/:id (which every message links to), the
 * list at GET /notices and its Atom feed at GET /notices.atom.
 */
export function createNoticePageRoutes(deps: NoticePageDeps): Hono {
  const app = new Hono();
  const city = { name: deps.config.city.name, nameEn: deps.config.city.nameEn };
  const ctx: NoticeRenderContext = {
    city,
    areaName: (code) => deps.areas.get(code) ?? { code, name: code, nameEn: code },
  };
  const query = createPublicNoticeQuery(deps.store);
  const head = `${NOTICE_CSS}${feedLinkHead(city)}`;

  app.get('/notices/:id', async (c) => {
    const id = c.req.param('id');
    const now = new Date();
    const revisions = id.length <= 100 ? await query.noticeRevisions(id, now) : undefined;
    const latest = revisions?.[revisions.length - 1];
    if (!revisions || !latest) {
      // Unknown, not yet approved or not yet due: all look alike from outside.
      return sendPage(
        c,
        <Layout title="お知らせが見つかりません / Not found" siteName={city.name} siteNameEn={city.nameEn}>
          <NotFoundBody />
        </Layout>,
        404,
        'public, max-age=10',
      );
    }
    const shown = latest.kind === 'cancel' ? (revisions[revisions.length - 2] ?? latest) : latest;
    const title = `${latest.kind === 'cancel' ? '【取消】' : ''}${shown.title} | ${city.name}`;
    return sendCachedPage(
      c,
      <Layout title={title} siteName={city.name} siteNameEn={city.nameEn}>
        <NoticeBody revisions={revisions} ctx={ctx} now={now} />
      </Layout>,
      { cacheControl: PUBLIC_NOTICE_CACHE, head },
    );
  });

  app.route('/', createNoticeListRoutes({ query, ctx, head }));
  return app;
}
