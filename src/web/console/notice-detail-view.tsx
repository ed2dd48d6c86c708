import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { CHANNEL_WORD } from '../../../channels/catalog.ts';
import type { Bilingual } from '../../domain/bilingual.ts';
import { CATEGORY_EN, KIND_WORD, MODE_WORD } from '../../domain/labels.ts';
import { markedTitle } from '../../domain/marks.ts';
import { hasRole } from '../../domain/staff.ts';
import type { ApprovalCheck } from '../../services/notices/index.ts';
import { JstTime, SeverityBadge } from '../notice-parts.tsx';
import { type ApprovalFormState, ApprovalPanel, ApprovalSteps } from './approval-panel.tsx';
import { ChannelDownBanner, channelsDown } from './channel-down-banner.tsx';
import { ConsoleLayout, CsrfField, En, sendConsolePage } from './console-layout.tsx';
import type { ConsolePageContext } from './console-routes.tsx';
import { ProgressSection, RevisionHistory } from './notice-detail-sections.tsx';
import { StatusBadge, Words } from './notice-parts.tsx';
import { noticePath } from './notice-paths.ts';
import { currentRevisionOf, loadProgress } from './notice-progress.ts';
import type { ConsoleEnv } from './session.ts';

/**
 * A notice as staff follow it: the current revision's facts, live per-channel progress
 * (server-sent events, progress.js), failed deliveries, revisions and approvals, and the
 * buttons to retry, correct and cancel. Every action goes through the notice service.
 */

/** Failed deliveries listed on the page; the API pages through the rest. */
const FAILED_SHOWN = 50;

/** The flash after an action, from ?done= (others' pages redirect here with their own words too). */
function flashOf(query: Record<string, string | undefined>): Bilingual | undefined {
  const count = (name: string) => Math.max(0, Number.parseInt(query[name] ?? '', 10) || 0);
  switch (query.done) {
    case 'retried': {
      const rows = count('rows');
      return rows > 0
        ? { ja: `失敗した ${rows} 件をもう一度送ります。`, en: `${rows} failed deliveries are being sent again.` }
        : { ja: '再送する失敗分はありませんでした。', en: 'There were no failed deliveries to send again.' };
    }
    case 'cancelled':
      return {
        ja: '通知を取り消しました。取消のお知らせを各チャネルに配信します。',
        en: 'The notice is cancelled; the cancellation is being sent on every channel.',
      };
    case 'cancelled_silent':
      return {
        ja: '予約中の通知を取り消しました。まだ誰にも配信していないため、取消のお知らせは送りません。',
        en: 'The scheduled notice is cancelled; nobody had received it, so no cancellation is sent.',
      };
    case 'withdrawn':
      return {
        ja: '承認前の通知を取り下げました。配信はしていません。',
        en: 'The notice was withdrawn before approval; nothing was sent.',
      };
    case 'approved':
      return { ja: '承認しました。通知を配信します。', en: 'Approved: the notice is being sent.' };
    case 'approved_waiting': {
      const more = count('more');
      return {
        ja: `承認しました。配信にはあと ${more} 人の承認が必要です。`,
        en: `Approved. It needs ${more} more approvals before it is sent.`,
      };
    }
    case 'returned':
      return {
        ja: '差し戻しました。作成者にはこの画面でコメントが表示されます。',
        en: 'Returned: the author sees your comment on this page.',
      };
    case 'created':
      return { ja: '通知を作成し、配信を始めました。', en: 'The notice was created and is being sent.' };
    case 'submitted':
      return { ja: '承認を申請しました。', en: 'Submitted for approval.' };
    case 'resubmitted':
      return { ja: '直した内容で再申請しました。', en: 'Resubmitted with your changes.' };
    case 'corrected':
      return { ja: '訂正を配信します。', en: 'The correction is being sent.' };
    case 'proposed':
      return {
        ja: '緊急の通知に関わるため、承認を申請しました。承認されるまで誰にも配信しません。',
        en: 'It concerns an emergency, so it was submitted for approval; nothing is sent until it is approved.',
      };
    default:
      return undefined;
  }
}

/** The body as written: line breaks kept by CSS, never parsed as markup. */
const NoticeBody = ({ text }: { text: string }) => <div class="notice-body">{text}</div>;

const DETAIL_CSS = `
.notice-body{white-space:pre-wrap;overflow-wrap:anywhere;border-left:4px solid #c8c8c8;padding:.25rem .75rem;margin:.5rem 0 1rem}
.channel-progress{border:1px solid #c8c8c8;border-radius:.375rem;padding:.25rem 1rem .75rem;margin:.5rem 0}
.channel-progress h3{margin-top:.5rem}
.approval-forms{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:0 2rem}
blockquote{margin:.25rem 0 .5rem;padding:.25rem .75rem;border-left:4px solid #8a4500;background:#fff}
.comment{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}
ol.steps li{margin:.25rem 0}
`;

export interface DetailExtras {
  status?: ContentfulStatusCode;
  approvalForm?: ApprovalFormState;
}

/** The notice page; approvals-page.tsx renders it again with a refused approval form's errors. */
export async function renderNoticeDetail(
  c: Context<ConsoleEnv>,
  ctx: ConsolePageContext,
  noticeId: string,
  extras: DetailExtras = {},
): Promise<Response> {
  const session = c.get('session');
  const staff = c.get('staff');
  if (!session) throw new Error('renderNoticeDetail needs a guarded route');
  const { detail, progress } = await loadProgress(ctx.notices, ctx.deps.store.deliveries, noticeId);
  const { notice, status, approval } = detail;
  const current = currentRevisionOf(detail);
  const unapproved = status === 'pending_approval' || status === 'returned';
  // Cancelled before approval: withdrawn with no cancel revision, so never sent anywhere.
  const withdrawn = status === 'cancelled' && current.kind !== 'cancel';
  const failed = unapproved
    ? { items: [], nextCursor: null }
    : await ctx.notices.deliveries(noticeId, { status: 'failed', revision: current.revision, limit: FAILED_SHOWN });
  const check: ApprovalCheck | undefined =
    (status === 'pending_approval' || detail.proposal) && hasRole(staff, 'approver')
      ? await ctx.notices.checkApproval(noticeId, staff)
      : undefined;
  const flash = flashOf(c.req.query());
  const down = await channelsDown(ctx.deps);
  const totalFailed = progress.channels.reduce((n, ch) => n + ch.failed, 0);
  const { city } = ctx.deps.config;
  const topicName = (id: string) => ctx.deps.catalogue.topics.find((t) => t.id === id);
  const base = noticePath(noticeId);
  const published = !unapproved && !withdrawn;

  return sendConsolePage(
    c,
    <ConsoleLayout
      title={`${notice.title} | 通知の詳細`}
      session={session}
      section="notices"
      styles={DETAIL_CSS}
      scripts={progress.live ? ['progress'] : []}
    >
      <p>
        <a href="/console/notices">← 通知一覧 / Notices</a>
      </p>
      <h1>{markedTitle(current, 'ja')}</h1>
      <ChannelDownBanner down={down} />
      <p>
        <SeverityBadge severity={current.severity} english="En" /> 状態 <En>Status</En>:{' '}
        <span data-field="status">
          <StatusBadge status={status} />
        </span>
      </p>
      {flash ? (
        <div class="flash" role="status">
          <p>
            <Words text={flash} />
          </p>
        </div>
      ) : null}

      <ApprovalPanel
        noticeId={noticeId}
        status={status}
        approval={approval}
        proposal={detail.proposal}
        check={check}
        session={session}
        form={extras.approvalForm}
      />

      <div class="actions">
        {totalFailed > 0 && !unapproved ? (
          <form method="post" action={`${base}/retry`}>
            <CsrfField session={session} />
            <button type="submit">
              失敗分を再送（{totalFailed}件） <span lang="en">/ Retry failed</span>
            </button>
          </form>
        ) : null}
        {['queued', 'sending', 'completed', 'completed_with_failures'].includes(status) ? (
          <a class="button secondary" href={`${base}/correct`}>
            訂正 <span lang="en">/ Correct</span>
          </a>
        ) : null}
        {status !== 'cancelled' ? (
          <a class="button secondary" href={`${base}/cancel`}>
            {unapproved ? '取り下げ' : '取消'} <span lang="en">/ {unapproved ? 'Withdraw' : 'Cancel'}</span>
          </a>
        ) : null}
      </div>

      <section aria-labelledby="facts-title">
        <h2 id="facts-title">
          内容（第{current.revision}版・{KIND_WORD[current.kind].ja}） <En>Content (revision {current.revision})</En>
        </h2>
        <dl class="facts">
          <dt>件名</dt>
          <dd>{current.title}</dd>
          <dt>{current.kind === 'cancel' ? '取消の理由' : '本文'}</dt>
          <dd>
            {current.body.trim() === '' ? <span class="muted">（なし）</span> : <NoticeBody text={current.body} />}
          </dd>
          <dt>重要度</dt>
          <dd>
            <SeverityBadge severity={current.severity} english="En" />
          </dd>
          <dt>分類</dt>
          <dd>
            {current.category} <En>{CATEGORY_EN[current.category]}</En>
          </dd>
          <dt>種別</dt>
          <dd>
            <Words text={MODE_WORD[current.mode]} />
          </dd>
          <dt>トピック</dt>
          <dd>
            {current.topics.length === 0
              ? '指定なし（地域の全員）'
              : current.topics.map((t) => topicName(t)?.name ?? t).join('、')}
          </dd>
          <dt>対象地域</dt>
          <dd>
            {current.areas.length === 0
              ? `${city.name}全域`
              : current.areas.map((code) => ctx.deps.areas.get(code)?.name ?? code).join('、')}
          </dd>
          <dt>チャネル</dt>
          <dd>{current.channels.map((ch) => CHANNEL_WORD[ch].ja).join('、')}</dd>
          <dt>配信予定</dt>
          <dd>{current.scheduledAt ? <JstTime at={current.scheduledAt} /> : '即時'}</dd>
          <dt>発表日時</dt>
          <dd>
            {unapproved ? (
              <span class="muted">承認されたときに決まります</span>
            ) : withdrawn ? (
              <span class="muted">配信なし（承認前に取り下げ）</span>
            ) : (
              <JstTime at={current.sentAt} />
            )}
          </dd>
          <dt>有効期限</dt>
          <dd>{current.expiresAt ? <JstTime at={current.expiresAt} /> : 'なし'}</dd>
          <dt>担当部署</dt>
          <dd>{current.department ?? <span class="muted">指定なし（{city.name}）</span>}</dd>
          <dt>作成者</dt>
          <dd>
            {notice.createdBy}（<JstTime at={notice.createdAt} />）
            {current.revision > 1 ? `、第${current.revision}版: ${current.createdBy}` : ''}
          </dd>
        </dl>
        {published ? (
          <p>
            <a href={ctx.deps.links.noticePage(noticeId)}>公開ページ / Public page</a>
            {current.channels.includes('cap') ? (
              <>
                {' ・ '}
                <a href={ctx.deps.links.capFile(current.capIdentifier)} type="application/cap+xml">
                  CAPファイル / CAP file
                </a>
              </>
            ) : null}
          </p>
        ) : null}
      </section>

      {unapproved || withdrawn ? (
        withdrawn ? (
          <p class="flash warn">
            承認の前に取り下げられたため、どのチャネルにも配信していません。{' '}
            <En>Withdrawn before approval: nothing was sent.</En>
          </p>
        ) : null
      ) : (
        <ProgressSection progress={progress} base={base} />
      )}

      {failed.items.length > 0 ? (
        <section aria-labelledby="failed-title">
          <h2 id="failed-title">
            配信に失敗したもの <En>Failed deliveries</En>
          </h2>
          {failed.nextCursor ? (
            <p class="hint">
              最初の {FAILED_SHOWN} 件を表示しています。 <En>Showing the first {FAILED_SHOWN}.</En>
            </p>
          ) : null}
          <div class="table-wrap">
            <table aria-labelledby="failed-title">
              <thead>
                <tr>
                  <th scope="col">チャネル</th>
                  <th scope="col">宛先</th>
                  <th scope="col">試行回数</th>
                  <th scope="col">理由</th>
                  <th scope="col">最終更新</th>
                </tr>
              </thead>
              <tbody>
                {failed.items.map((d) => (
                  <tr>
                    <td>{CHANNEL_WORD[d.channel].ja}</td>
                    <td>{d.recipient === '*' ? '公開投稿' : `連絡先 #${d.recipient}`}</td>
                    <td>{d.attempts}</td>
                    <td>{d.lastError ?? '（理由の記録なし）'}</td>
                    <td>
                      <JstTime at={new Date(d.updatedAt)} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}

      <RevisionHistory detail={detail} unsent={unapproved ? '未定' : withdrawn ? '配信なし' : undefined} />
      <ApprovalSteps approval={approval} />
    </ConsoleLayout>,
    extras.status ?? 200,
  );
}
