import { Hono } from 'hono';
import type { Child, FC } from 'hono/jsx';
import type { Bilingual } from '../../domain/bilingual.ts';
import { DERIVED_STATUSES, SEVERITY_WORD, STATUS_WORD } from '../../domain/labels.ts';
import { markedTitle } from '../../domain/marks.ts';
import { SEVERITIES } from '../../domain/notice.ts';
import { JstTime, SeverityBadge } from '../notice-parts.tsx';
import { ChannelDownBanner, channelsDown } from './channel-down-banner.tsx';
import { ConsoleLayout, En, sendConsolePage } from './console-layout.tsx';
import type { ConsolePageModule } from './console-routes.tsx';
import { ErrorSummary, FieldError, fieldAria } from './form-errors.tsx';
import { StatusBadge, TableHead } from './notice-parts.tsx';
import { currentRevisionOf } from './notice-progress.ts';
import {
  type FilterErrors,
  type FilterField,
  type NoticeFilter,
  parseNoticeFilter,
  searchNotices,
} from './notice-search.ts';
import type { ConsoleEnv } from './session.ts';

const PAGE_SIZE = 20;

/** The four filters side by side where there is room, stacked on a phone. */
const LIST_CSS = '.filters{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:0 1rem}';

const COLUMNS = [
  { ja: '重要度', en: 'Severity' },
  { ja: '件名', en: 'Title' },
  { ja: '状態', en: 'Status' },
  { ja: '作成日時', en: 'Created' },
  { ja: '作成者', en: 'Author' },
];

const DATE_LABEL: Record<'from' | 'to', Bilingual> = {
  from: { ja: '作成日（から）', en: 'Created from (JST)' },
  to: { ja: '作成日（まで）', en: 'Created to (JST)' },
};

const filterId = (field: string): string => `filter-${field}`;

/** What a filter's control needs: its id and name, and the aria attributes for its reasons. */
type FilterControlAttrs = { id: string; name: FilterField } & ReturnType<typeof fieldAria>;

/** One filter: its label, its control, and the reasons its value could not be used. */
const Filter: FC<{
  field: FilterField;
  label: Bilingual;
  errors: FilterErrors;
  hint?: string;
  control: (attrs: FilterControlAttrs) => Child;
}> = ({ field, label, errors, hint, control }) => {
  const id = filterId(field);
  return (
    <div>
      <label for={id}>
        {label.ja} <En>{label.en}</En>
      </label>
      {control({ id, name: field, ...fieldAria(errors[field], { error: `${id}-error` }, hint) })}
      <FieldError id={`${id}-error`} reasons={errors[field]} />
    </div>
  );
};

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
    const { filter, errors } = parseNoticeFilter(query);
    const invalid = Object.keys(errors).length > 0;
    const cursor = query.cursor?.trim() || undefined;
    const page = invalid
      ? { items: [], nextCursor: null, partial: false }
      : await searchNotices(ctx.notices, filter, { pageSize: PAGE_SIZE, ...(cursor ? { cursor } : {}) });
    const filtered = Object.values(filter).some(Boolean);
    const down = await channelsDown(ctx.deps);

    return sendConsolePage(
      c,
      <ConsoleLayout title="通知一覧" session={session} section="notices" styles={LIST_CSS}>
        <h1>
          通知一覧 <En>/ Notices</En>
        </h1>
        <ChannelDownBanner down={down} />
        <p>
          <a class="button" href="/console/notices/new">
            新しい通知を作成 <span lang="en">/ New notice</span>
          </a>
        </p>
        <ErrorSummary errors={errors} idOf={filterId} />
        <form method="get" action="/console/notices" aria-labelledby="filter-title">
          <h2 id="filter-title">
            絞り込み <En>Filter</En>
          </h2>
          <div class="filters">
            <Filter
              field="status"
              label={{ ja: '状態', en: 'Status' }}
              errors={errors}
              control={(attrs) => (
                <select {...attrs}>
                  <option value="">すべて / All</option>
                  {DERIVED_STATUSES.map((s) => (
                    <option value={s} selected={filter.status === s}>
                      {STATUS_WORD[s].ja} / {STATUS_WORD[s].en}
                    </option>
                  ))}
                </select>
              )}
            />
            <Filter
              field="severity"
              label={{ ja: '重要度', en: 'Severity' }}
              errors={errors}
              control={(attrs) => (
                <select {...attrs}>
                  <option value="">すべて / All</option>
                  {[...SEVERITIES].reverse().map((s) => (
                    <option value={s} selected={filter.severity === s}>
                      {SEVERITY_WORD.ja[s]} / {SEVERITY_WORD.en[s]}
                    </option>
                  ))}
                </select>
              )}
            />
            {(['from', 'to'] as const).map((field) => (
              <Filter
                field={field}
                label={DATE_LABEL[field]}
                errors={errors}
                hint="filter-date-hint"
                control={(attrs) => <input type="date" {...attrs} value={query[field] ?? ''} />}
              />
            ))}
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
              {invalid
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
              <En>{invalid ? 'Fix the filter to see notices.' : filtered ? 'No notices match.' : 'No notices yet.'}</En>
            </p>
          </div>
        ) : (
          <div class="table-wrap">
            <table aria-labelledby="results-title">
              <TableHead columns={COLUMNS} />
              <tbody>
                {page.items.map((d) => {
                  const current = currentRevisionOf(d);
                  return (
                    <tr>
                      <td>
                        <SeverityBadge severity={d.notice.severity} english="En" />
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
      </ConsoleLayout>,
      invalid ? 400 : 200,
    );
  });

  return app;
};
