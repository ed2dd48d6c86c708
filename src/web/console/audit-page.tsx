import { Hono } from 'hono';
import type { FC } from 'hono/jsx';
import type { AuditEntry } from '../../store/audit.ts';
import { JstTime } from '../notice-parts.tsx';
import { ConsoleLayout, En, sendConsolePage } from './console-layout.tsx';
import type { ConsolePageModule } from './console-routes.tsx';
import type { ConsoleEnv } from './session.ts';

/** Entries per page: a shift's worth of actions at a glance, small enough for a phone. */
export const AUDIT_PAGE_SIZE = 50;

/** Longer details fold away behind a summary, so one import does not push the table off screen. */
const DETAIL_INLINE_CHARS = 160;

/**
 * Every action the code records, in the words staff use. An action not listed here (added
 * later, or by another tool) is shown as recorded rather than hidden.
 */
export const AUDIT_ACTION_WORDS: Record<string, { ja: string; en: string }> = {
  'notice.create': { ja: '通知の作成', en: 'Notice created' },
  'notice.submit': { ja: '承認依頼', en: 'Submitted for approval' },
  'notice.approve': { ja: '承認', en: 'Approved' },
  'notice.return': { ja: '差し戻し', en: 'Returned' },
  'notice.resubmit': { ja: '再提出', en: 'Resubmitted' },
  'notice.correct': { ja: '訂正', en: 'Corrected' },
  'notice.cancel': { ja: '取消', en: 'Cancelled' },
  'notice.retry': { ja: '失敗分の再送', en: 'Failed deliveries retried' },
  'token.create': { ja: 'トークンの作成', en: 'Token created' },
  'token.revoke': { ja: 'トークンの失効', en: 'Token revoked' },
  'webhook.create': { ja: 'Webhook の登録', en: 'Webhook added' },
  'webhook.update': { ja: 'Webhook の変更', en: 'Webhook changed' },
  'webhook.rotate-secret': { ja: 'Webhook 署名鍵の更新', en: 'Webhook secret rotated' },
  'webhook.delete': { ja: 'Webhook の削除', en: 'Webhook deleted' },
  'subscribers.import': { ja: '購読者の一括登録', en: 'Subscribers imported' },
  'console.signin': { ja: 'サインイン', en: 'Signed in' },
  'console.signout': { ja: 'サインアウト', en: 'Signed out' },
  'console.signin.failed': { ja: 'サインインの失敗', en: 'Sign-in failed' },
  'console.signin.locked': { ja: 'サインインの一時停止（失敗の続き）', en: 'Sign-in locked (repeated failures)' },
};

/**
 * Keys whose values are secrets. Nothing recorded today carries one (token.create records the
 * name and role, webhooks the host); this keeps a future slip from reaching a page.
 */
const SECRET_KEY = /^(token|secret|password|authorization|signature|api_?key|access_?token|endpoint)$/i;
const SECRET_VALUE = /hbk_[A-Za-z0-9_-]{16,}/g;

function redact(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(SECRET_VALUE, 'hbk_[秘匿]');
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) || /secret/i.test(k) ? '[秘匿]' : redact(v)]),
    );
  }
  return value;
}

/** Compact JSON of an entry's detail, secrets masked; null when there is none. */
export function auditDetailText(detail: unknown): string | null {
  if (detail === null || detail === undefined) return null;
  return JSON.stringify(redact(detail));
}

interface AuditQuery {
  action: string | undefined;
  actor: string | undefined;
  before: number | undefined;
}

function readQuery(q: (name: string) => string | undefined): AuditQuery {
  const action = q('action')?.trim().slice(0, 100) || undefined;
  const actor = q('actor')?.trim().slice(0, 100) || undefined;
  const rawBefore = q('before');
  // A cursor that is not a positive id is ignored: the first page is the useful answer.
  const before = rawBefore && /^[1-9][0-9]{0,15}$/.test(rawBefore) ? Number(rawBefore) : undefined;
  return { action, actor, before };
}

function queryString(q: {
  action?: string | undefined;
  actor?: string | undefined;
  before?: number | undefined;
}): string {
  const params = new URLSearchParams();
  if (q.action) params.set('action', q.action);
  if (q.actor) params.set('actor', q.actor);
  if (q.before) params.set('before', String(q.before));
  const s = params.toString();
  return s ? `?${s}` : '';
}

const ActionWords: FC<{ action: string }> = ({ action }) => {
  const words = AUDIT_ACTION_WORDS[action];
  if (!words) return <code>{action}</code>;
  return (
    <>
      {words.ja}
      <br />
      <En>{words.en}</En>
    </>
  );
};

const Target: FC<{ entry: AuditEntry }> = ({ entry }) => {
  const { target, action } = entry;
  if (!target) return <span class="muted">—</span>;
  if (action.startsWith('notice.')) {
    return (
      <a href={`/console/notices/${encodeURIComponent(target)}`}>
        <span class="visually-hidden">通知 </span>
        <code>{target}</code>
      </a>
    );
  }
  const token = /^token:(\d+)$/.exec(target)?.[1] ?? (action.startsWith('token.') ? target : undefined);
  if (token) return <>トークン #{token}</>;
  if (action.startsWith('webhook.')) return <>Webhook #{target}</>;
  return <code>{target}</code>;
};

const Detail: FC<{ detail: unknown }> = ({ detail }) => {
  const text = auditDetailText(detail);
  if (text === null) return <span class="muted">—</span>;
  if (text.length <= DETAIL_INLINE_CHARS) return <code class="detail">{text}</code>;
  return (
    <details>
      <summary>
        <code class="detail">{`${text.slice(0, DETAIL_INLINE_CHARS)}…`}</code>
      </summary>
      <code class="detail">{text}</code>
    </details>
  );
};

/** On a phone each entry stacks into labelled lines instead of five squeezed columns. */
const PAGE_CSS = `code.detail{overflow-wrap:anywhere;font-size:.875rem}
table.audit th{white-space:nowrap}
table.audit td.at{white-space:nowrap}
table.audit td.actor{min-width:7rem}
.filters{display:flex;flex-wrap:wrap;gap:0 1.5rem;align-items:flex-start}
.filters>div{flex:1 1 16rem}
nav.pager ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5rem 1.5rem}
@media (max-width:40rem){
table.audit thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.audit,table.audit tbody,table.audit tr,table.audit td{display:block}
table.audit tr{border-bottom:2px solid #8a8a8a;padding:.5rem 0}
table.audit td{border:none;padding:.1rem 0}
table.audit td.at{white-space:normal}
table.audit td::before{content:attr(data-label);font-weight:700;display:inline-block;min-width:6rem}
}`;

/**
 * /console/audit: who did what, newest first. Approvers may read it as well as admins: an
 * approver answers for emergency notices and must be able to check who submitted, approved,
 * returned or cancelled one and when. Authors may not: it also lists every member of staff's
 * sign-ins and token changes, which drafting a notice does not need.
 */
export const createAuditPage: ConsolePageModule = (ctx) => {
  const app = new Hono<ConsoleEnv>();

  app.get('/console/audit', ctx.guard('approver'), async (c) => {
    const session = c.get('session');
    const query = readQuery((name) => c.req.query(name));
    const [rows, actors] = await Promise.all([
      ctx.deps.store.audit.list({
        limit: AUDIT_PAGE_SIZE + 1,
        before: query.before,
        action: query.action,
        actor: query.actor,
      }),
      ctx.deps.store.audit.actors(),
    ]);
    const entries = rows.slice(0, AUDIT_PAGE_SIZE);
    const last = entries[entries.length - 1];
    const older = rows.length > AUDIT_PAGE_SIZE && last ? { ...query, before: last.id } : undefined;
    const actions = Object.keys(AUDIT_ACTION_WORDS);
    if (query.action && !actions.includes(query.action)) actions.push(query.action);
    const filtered = Boolean(query.action || query.actor);

    return sendConsolePage(
      c,
      <ConsoleLayout title="監査ログ" session={session} section="audit" styles={PAGE_CSS}>
        <h1>
          監査ログ <En>/ Audit log</En>
        </h1>
        <p>
          職員の操作（通知の作成・承認・訂正・取消、トークンの管理、サインインなど）を新しい順に表示します。時刻は日本時間です。
          <br />
          <En>Staff actions, newest first. Times are JST.</En>
        </p>

        <form method="get" action="/console/audit" aria-labelledby="audit-filter-title">
          <h2 id="audit-filter-title">
            絞り込み <En>/ Filter</En>
          </h2>
          <div class="filters">
            <div>
              <label for="audit-action">
                操作 <En>/ Action</En>
              </label>
              <select id="audit-action" name="action">
                <option value="">すべての操作 / All</option>
                {actions.map((action) => (
                  <option value={action} selected={action === query.action}>
                    {AUDIT_ACTION_WORDS[action] ? `${AUDIT_ACTION_WORDS[action]?.ja}（${action}）` : action}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label for="audit-actor">
                操作した人 <En>/ Actor</En>
              </label>
              <input
                type="text"
                id="audit-actor"
                name="actor"
                list="audit-actors"
                value={query.actor ?? ''}
                maxlength={100}
                aria-describedby="audit-actor-hint"
              />
              <datalist id="audit-actors">
                {actors.map((name) => (
                  <option value={name} />
                ))}
              </datalist>
              <p class="hint" id="audit-actor-hint">
                トークンの名前と完全に一致するものを表示します。 <En>Exact token name.</En>
              </p>
            </div>
          </div>
          <div class="actions">
            <button type="submit">絞り込む</button>
            {filtered ? (
              <a class="button secondary" href="/console/audit">
                条件を解除
              </a>
            ) : null}
          </div>
        </form>

        {entries.length === 0 ? (
          <p role="status">
            {filtered ? '条件に合う記録はありません。' : '記録はまだありません。'}{' '}
            <En>{filtered ? 'No entries match.' : 'Nothing recorded yet.'}</En>
          </p>
        ) : (
          <div class="table-wrap">
            <table class="audit">
              <caption class="visually-hidden">
                監査ログ（{query.before ? '続き' : '最新'}の{entries.length}件）
              </caption>
              <thead>
                <tr>
                  <th scope="col">日時</th>
                  <th scope="col">操作した人</th>
                  <th scope="col">操作</th>
                  <th scope="col">対象</th>
                  <th scope="col">詳細</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((entry) => (
                  <tr>
                    <td class="at" data-label="日時">
                      <JstTime at={new Date(entry.at)} />
                    </td>
                    <td class="actor" data-label="操作した人">
                      {entry.actor}
                      {entry.clientAddress ? (
                        <>
                          <br />
                          <small class="client-address">{entry.clientAddress}</small>
                        </>
                      ) : null}
                    </td>
                    <td data-label="操作">
                      <ActionWords action={entry.action} />
                    </td>
                    <td data-label="対象">
                      <Target entry={entry} />
                    </td>
                    <td data-label="詳細">
                      <Detail detail={entry.detail} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}

        {older || query.before ? (
          <nav class="pager" aria-label="ページ送り">
            <ul>
              {query.before ? (
                <li>
                  <a href={`/console/audit${queryString({ action: query.action, actor: query.actor })}`}>
                    最新の記録へ戻る <En>/ Newest</En>
                  </a>
                </li>
              ) : null}
              {older ? (
                <li>
                  <a href={`/console/audit${queryString(older)}`} rel="next">
                    さらに古い記録 <En>/ Older</En>
                  </a>
                </li>
              ) : null}
            </ul>
          </nav>
        ) : null}
      </ConsoleLayout>,
    );
  });

  return app;
};
