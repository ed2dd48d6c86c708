import { Hono } from 'hono';
import { SEVERITY_WORD } from '../../domain/labels.ts';
import { markedTitle } from '../../domain/marks.ts';
import { SEVERITIES } from '../../domain/notice.ts';
import { ConsoleLayout, En, sendConsolePage } from './console-layout.tsx';
import type { ConsolePageModule } from './console-routes.tsx';
import { STATUS_ORDER, STATUS_WORD } from './console-words.ts';
import {
  ErrorSummary,
  FieldMessage,
  type FieldProblem,
  fieldAria,
  JstTime,
  SeverityBadge,
  StatusBadge,
} from './notice-parts.tsx';
import { currentRevisionOf } from './notice-progress.ts';
import { type NoticeFilter, parseNoticeFilter, searchNotices } from './notice-search.ts';
import type { ConsoleEnv } from './session.ts';

const PAGE_SIZE = 20;

/** The four filters side by side where there is room, stacked on a phone. */
const LIST_CSS = '.filters{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:0 1rem}';

/** The list's query string for a filter (and a cursor), so paging keeps the filter. */
function listHref(filter: NoticeFilter, cursor?: string): string {
  const q = new URLSearchParams();
  for (const key of ['status', 'severity', 'from', 'to'] as const) {
    const value = filter[key];
    if (value) q.set(key, value);
  }
  if (cursor) q.set('cursor', cursor);
  const s = q.toString();
  return s ? `/console/notices?${s}` : '/console/notices';
}

/** GET /console/notices: every notice, newest first, filtered by a plain GET form. */
export const createNoticeListPage: ConsolePageModule = (ctx) => {
  const app = new Hono<ConsoleEnv>();

  app.get('/console/notices', ctx.guard('author'), async (c) => {
    const session = c.get('session');
    const query = c.req.query();
    const { filter, problems: filterProblems } = parseNoticeFilter(query);
    const problems: FieldProblem[] = filterProblems.map((p) => ({ field: `filter-${p.field}`, message: p.message }));
    const cursor = query.cursor?.trim() || undefined;
    const page =
      problems.length > 0
        ? { items: [], nextCursor: null, partial: false }
        : await searchNotices(ctx.notices, filter, { pageSize: PAGE_SIZE, ...(cursor ? { cursor } : {}) });
    const filtered = Object.values(filter).some(Boolean);

    return sendConsolePage(
      c,
      <ConsoleLayout title="通知一覧" session={session} section="notices">
        <h1>
          通知一覧 <En>/ Notices</En>
        </h1>
        <p>
          <a class="button" href="/console/notices/new">
            新しい通知を作成 <span lang="en">/ New notice</span>
          </a>
        </p>
        <ErrorSummary problems={problems} />
        <form method="get" action="/console/notices" aria-labelledby="filter-title">
          <h2 id="filter-title">
            絞り込み <En>Filter</En>
          </h2>
          <div class="filters">
            <div>
              <label for="filter-status">
                状態 <En>Status</En>
              </label>
              <select id="filter-status" name="status" {...fieldAria('filter-status', problems)}>
                <option value="">すべて / All</option>
                {STATUS_ORDER.map((s) => (
                  <option value={s} selected={filter.status === s}>
                    {STATUS_WORD[s].ja} / {STATUS_WORD[s].en}
                  </option>
                ))}
              </select>
              <FieldMessage field="filter-status" problems={problems} />
            </div>
            <div>
              <label for="filter-severity">
                重要度 <En>Severity</En>
              </label>
              <select id="filter-severity" name="severity" {...fieldAria('filter-severity', problems)}>
                <option value="">すべて / All</option>
                {[...SEVERITIES].reverse().map((s) => (
                  <option value={s} selected={filter.severity === s}>
                    {SEVERITY_WORD.ja[s]} / {SEVERITY_WORD.en[s]}
                  </option>
                ))}
              </select>
              <FieldMessage field="filter-severity" problems={problems} />
            </div>
            <div>
              <label for="filter-from">
                作成日（から） <En>Created from (JST)</En>
              </label>
              <input
                type="date"
                id="filter-from"
                name="from"
                value={query.from ?? ''}
                {...fieldAria('filter-from', problems, 'filter-date-hint')}
              />
              <FieldMessage field="filter-from" problems={problems} />
            </div>
            <div>
              <label for="filter-to">
                作成日（まで） <En>Created to (JST)</En>
              </label>
              <input
                type="date"
                id="filter-to"
                name="to"
                value={query.to ?? ''}
                {...fieldAria('filter-to', problems, 'filter-date-hint')}
              />
              <FieldMessage field="filter-to" problems={problems} />
            </div>
          </div>
          <p class="hint" id="filter-date-hint">
            日付は日本時間で、両端の日を含みます。 <En>Dates are JST and include both ends.</En>
          </p>
          <div class="actions">
            <button type="submit">絞り込む</button>
            {filtered ? (
              <a class="button secondary" href="/console/notices">
                条件をクリア
              </a>
            ) : null}
          </div>
        </form>

        <h2 id="results-title">
          {filtered ? '絞り込みの結果' : 'すべての通知'} <En>{filtered ? 'Matching notices' : 'All notices'}</En>
        </h2>
        {page.items.length === 0 ? (
          <div class="flash warn" role="status">
            <p>
              {problems.length > 0
                ? '条件を直すと一覧が表示されます。'
                : filtered
                  ? page.partial
                    ? 'ここまでに条件に合う通知はありませんでした。'
                    : '条件に合う通知はありません。条件を変えてお試しください。'
                  : cursor
                    ? 'これより前の通知はありません。'
                    : 'まだ通知はありません。「新しい通知を作成」から作成できます。'}
            </p>
            <p>
              <En>
                {problems.length > 0
                  ? 'Fix the filter to see notices.'
                  : filtered
                    ? 'No notices match.'
                    : 'No notices yet.'}
              </En>
            </p>
          </div>
        ) : (
          <div class="table-wrap">
            <table aria-labelledby="results-title">
              <thead>
                <tr>
                  <th scope="col">
                    重要度 <En>Severity</En>
                  </th>
                  <th scope="col">
                    件名 <En>Title</En>
                  </th>
                  <th scope="col">
                    状態 <En>Status</En>
                  </th>
                  <th scope="col">
                    作成日時 <En>Created</En>
                  </th>
                  <th scope="col">
                    作成者 <En>Author</En>
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((d) => {
                  const current = currentRevisionOf(d);
                  return (
                    <tr>
                      <td>
                        <SeverityBadge severity={d.notice.severity} />
                      </td>
                      <td>
                        <a href={`/console/notices/${encodeURIComponent(d.notice.id)}`}>{markedTitle(current, 'ja')}</a>
                      </td>
                      <td>
                        <StatusBadge status={d.status} />
                      </td>
                      <td>
                        <JstTime at={d.notice.createdAt} />
                      </td>
                      <td>{d.notice.createdBy}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        {cursor || page.nextCursor ? (
          <nav aria-label="ページ送り" class="actions">
            {cursor ? <a href={listHref(filter)}>最初のページへ / First page</a> : null}
            {page.nextCursor ? (
              <a href={listHref(filter, page.nextCursor)} rel="next">
                {page.partial ? 'さらに前を探す / Search further back' : '次のページ（より前の通知） / Older notices'}
              </a>
            ) : null}
          </nav>
        ) : null}
        <style dangerouslySetInnerHTML={{ __html: LIST_CSS }} />
      </ConsoleLayout>,
      problems.length > 0 ? 400 : 200,
    );
  });

  return app;
};
