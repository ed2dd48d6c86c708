import { Hono } from 'hono';
import type { FC } from 'hono/jsx';
import type { Deps } from '../deps.ts';
import { CATEGORY_EN, SEVERITY_COLOUR, SEVERITY_WORD } from '../domain/labels.ts';
import type { Area } from '../domain/notice.ts';
import type { Revision } from '../domain/revision.ts';
import { En, formatJst, formatJstEn, isoJst, Layout, sendPage } from './layout.tsx';

export type NoticePageDeps = Pick<Deps, 'store' | 'areas' | 'config'>;

/** Short: a correction or cancellation must reach readers within a minute, yet a burst of readers is cached. */
export const NOTICE_PAGE_CACHE = 'public, max-age=60';

const KIND_WORD = {
  alert: { ja: '発表', en: 'Issued' },
  update: { ja: '訂正', en: 'Corrected' },
  cancel: { ja: '取消', en: 'Cancelled' },
} as const;

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

interface NoticePageProps {
  /** Public revisions, oldest first: those whose time has come. */
  revisions: Revision[];
  areaName: (code: string) => Area;
  city: { name: string; nameEn: string };
}

const NoticeBody: FC<NoticePageProps> = ({ revisions, areaName, city }) => {
  const latest = revisions[revisions.length - 1] as Revision;
  const cancelled = latest.kind === 'cancel';
  // A cancellation carries only its reason; what was withdrawn is the revision before it.
  const shown = cancelled ? (revisions[revisions.length - 2] ?? latest) : latest;
  const severity = { ja: SEVERITY_WORD.ja[shown.severity], en: SEVERITY_WORD.en[shown.severity] };
  const areas = shown.areas.length === 0 ? [] : shown.areas.map(areaName);
  const link = shown.link && /^https?:\/\//i.test(shown.link) ? shown.link : null;
  return (
    <article aria-labelledby="notice-title">
      {cancelled && (
        <div class="banner cancel" role="status">
          この通知は {formatJst(latest.sentAt)} に取り消されました。
          <En>This notice was cancelled on {formatJstEn(latest.sentAt)}.</En>
          {latest.body.trim() !== '' && <p>取消の理由: {latest.body}</p>}
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
      <dl class="facts">
        <dt>
          重要度 <span lang="en">Severity</span>
        </dt>
        <dd>
          <span class="badge" style={`background:${SEVERITY_COLOUR[shown.severity]}`}>
            {severity.ja}
          </span>{' '}
          <span lang="en">{severity.en}</span>
        </dd>
        <dt>
          分類 <span lang="en">Category</span>
        </dt>
        <dd>
          {shown.category} <span lang="en">/ {CATEGORY_EN[shown.category]}</span>
        </dd>
        <dt>
          対象地域 <span lang="en">Area</span>
        </dt>
        <dd>
          {areas.length === 0 ? (
            <>
              {city.name}全域 <span lang="en">/ All of {city.nameEn}</span>
            </>
          ) : (
            areas.map((a) => a.name).join('、')
          )}
        </dd>
        <dt>
          発表日時 <span lang="en">Issued</span>
        </dt>
        <dd>
          <time datetime={isoJst(shown.sentAt)}>{formatJst(shown.sentAt)}</time>
        </dd>
        {shown.expiresAt && (
          <>
            <dt>
              有効期限 <span lang="en">Expires</span>
            </dt>
            <dd>
              <time datetime={isoJst(shown.expiresAt)}>{formatJst(shown.expiresAt)}</time>
            </dd>
          </>
        )}
      </dl>
      <Paragraphs text={shown.body} />
      {link && (
        <p>
          関連リンク <span lang="en">Related link</span>:{' '}
          <a href={link} rel="noopener noreferrer external">
            {link}
          </a>
        </p>
      )}
      {revisions.length > 1 && (
        <section aria-labelledby="history">
          <h2 id="history">
            更新の履歴 <span lang="en">History</span>
          </h2>
          <ol class="history">
            {revisions.map((r) => (
              <li>
                第{r.revision}版 {KIND_WORD[r.kind].ja} <span lang="en">({KIND_WORD[r.kind].en})</span>:{' '}
                <time datetime={isoJst(r.sentAt)}>{formatJst(r.sentAt)}</time>
                {r.kind === 'update' && ` — 第${r.revision - 1}版を訂正`}
              </li>
            ))}
          </ol>
        </section>
      )}
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
  </>
);

/** GET /notices/:id — the public page of a notice, which every message links to. */
export function createNoticePageRoutes(deps: NoticePageDeps): Hono {
  const app = new Hono();
  const city = { name: deps.config.city.name, nameEn: deps.config.city.nameEn };
  const areaName = (code: string): Area => deps.areas.get(code) ?? { code, name: code, nameEn: code };

  app.get('/notices/:id', async (c) => {
    const id = c.req.param('id');
    const notice = id.length <= 100 ? await deps.store.notices.get(id) : undefined;
    const now = new Date();
    // A scheduled revision is not public before its time: residents must not read it first on the web.
    const revisions = notice
      ? (await deps.store.notices.revisions(id)).filter((r) => !r.scheduledAt || r.scheduledAt <= now)
      : [];
    const latest = revisions[revisions.length - 1];
    if (!latest) {
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
    return sendPage(
      c,
      <Layout title={title} siteName={city.name} siteNameEn={city.nameEn}>
        <NoticeBody revisions={revisions} areaName={areaName} city={city} />
      </Layout>,
      200,
      NOTICE_PAGE_CACHE,
    );
  });

  return app;
}
