import { setTimeout as sleep } from 'node:timers/promises';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { CHANNEL_WORD } from '../../../channels/catalog.ts';
import type { Bilingual } from '../../domain/bilingual.ts';
import { CATEGORY_EN, KIND_WORD, MODE_WORD } from '../../domain/labels.ts';
import { markedTitle } from '../../domain/marks.ts';
import { hasRole } from '../../domain/staff.ts';
import { ApiError } from '../../http/errors.ts';
import type { ApprovalCheck, NoticeDetail } from '../../services/notices/index.ts';
import { JstTime, SeverityBadge } from '../notice-parts.tsx';
import { type ApprovalFormState, ApprovalPanel, ApprovalSteps } from './approval-panel.tsx';
import { ChannelDownBanner, channelsDown } from './channel-down-banner.tsx';
import { ConsoleLayout, CsrfField, En, sendConsolePage } from './console-layout.tsx';
import type { ConsolePageContext, ConsolePageModule } from './console-routes.tsx';
import { ErrorSummary, FieldError, type FormProblems, fieldAria } from './form-errors.tsx';
import { StatusBadge, Words } from './notice-parts.tsx';
import { currentRevisionOf, loadProgress, type NoticeProgress } from './notice-progress.ts';
import { type ConsoleEnv, formField } from './session.ts';
import { createStreamSlots, releasing, STREAMS_PER_SESSION } from './stream-slots.ts';

/**
 * A notice as staff follow it: the current revision's facts, live per-channel progress
 * (server-sent events, progress.js), failed deliveries, revisions and approvals, and the
 * buttons to retry, correct and cancel. Every action goes through the notice service.
 */

/** What newId('n') makes; anything else under /console/notices/ (new, …) is another page's. */
const NOTICE_ID = /^n[0-9a-z]{20}$/;
export const isNoticeId = (id: string): boolean => NOTICE_ID.test(id);

/** Failed deliveries listed on the page; the API pages through the rest. */
const FAILED_SHOWN = 50;

/** How often live progress is sent while deliveries are queued. */
const PROGRESS_INTERVAL_MS = 1000;
/** One stream at most this long: the browser's EventSource then reconnects and gets a fresh one. */
const MAX_STREAM_MS = 10 * 60 * 1000;

export const noticePath = (id: string): string => `/console/notices/${encodeURIComponent(id)}`;

type NoticeHandler = (c: Context<ConsoleEnv>, id: string) => Response | Promise<Response>;

/**
 * Adds routes under /console/notices/:id behind one guard, each handler given the notice's
 * id; any other :id (new, preview, …) is left to another page's route.
 */
export const noticeRoutes =
  (app: Hono<ConsoleEnv>, guard: MiddlewareHandler<ConsoleEnv>) =>
  (method: 'get' | 'post', below: '' | `/${string}`, handler: NoticeHandler): void => {
    app.on(method.toUpperCase(), `/console/notices/:id${below}`, guard, async (c, next) => {
      const id = c.req.param('id') ?? '';
      if (!isNoticeId(id)) return next();
      return handler(c, id);
    });
  };

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

const ProgressSection = ({ progress, base }: { progress: NoticeProgress; base: string }) => (
  <section aria-labelledby="progress-title" id="progress" data-progress-url={`${base}/events`}>
    <h2 id="progress-title">
      配信状況 <En>Delivery progress</En>
    </h2>
    <p>
      <a href={`${base}#progress`}>最新の状態に更新 / Reload</a>
      {progress.live ? (
        <span class="hint"> （スクリプトが使えるときは自動で更新されます / updates live where scripts run）</span>
      ) : null}
    </p>
    <p class="visually-hidden" id="progress-live" aria-live="polite" />
    {progress.channels.map((ch) => (
      <div class="channel-progress" data-channel={ch.channel}>
        <h3 id={`progress-${ch.channel}`}>
          {ch.name.ja} <En>{ch.name.en}</En>
        </h3>
        <progress
          max={Math.max(ch.total, 1)}
          value={ch.done}
          aria-labelledby={`progress-${ch.channel}`}
          aria-describedby={`progress-${ch.channel}-counts`}
        >
          {ch.done} / {ch.total}
        </progress>
        <p id={`progress-${ch.channel}-counts`} data-field="counts">
          <Words text={ch.counts} />
        </p>
        <p class="hint" data-field="timing">
          <Words text={ch.timing} />
        </p>
      </div>
    ))}
  </section>
);

/** unsent: what to say instead of an issue time for a notice never released (set when approved). */
const RevisionHistory = ({ detail, unsent }: { detail: NoticeDetail; unsent: string | undefined }) => (
  <section aria-labelledby="revisions-title">
    <h2 id="revisions-title">
      版の履歴 <En>Revisions</En>
    </h2>
    <div class="table-wrap">
      <table aria-labelledby="revisions-title">
        <thead>
          <tr>
            <th scope="col">版</th>
            <th scope="col">種別</th>
            <th scope="col">件名</th>
            <th scope="col">発表日時</th>
            <th scope="col">作成者</th>
            <th scope="col">配信（送信済み / 失敗 / 合計）</th>
          </tr>
        </thead>
        <tbody>
          {detail.revisions.map((r) => {
            const all = Object.values(r.counts).reduce(
              (sum, c) => ({
                sent: sum.sent + c.sent,
                failed: sum.failed + c.failed,
                total: sum.total + c.sent + c.failed + c.queued + c.skipped,
              }),
              { sent: 0, failed: 0, total: 0 },
            );
            return (
              <tr>
                <td>第{r.revision}版</td>
                <td>{KIND_WORD[r.kind].ja}</td>
                <td>{r.title}</td>
                <td>{unsent ? <span class="muted">{unsent}</span> : <JstTime at={r.sentAt} />}</td>
                <td>{r.createdBy}</td>
                <td data-field={r.revision === detail.notice.currentRevision ? 'revision-totals' : undefined}>
                  {all.sent} / {all.failed} / {all.total}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  </section>
);

/** The cancel confirmation: a reason for residents and a box to tick, so a stray click sends nothing. */
async function renderCancelPage(
  c: Context<ConsoleEnv>,
  ctx: ConsolePageContext,
  noticeId: string,
  state: { reason: string; errors: FormProblems } = { reason: '', errors: {} },
): Promise<Response> {
  const session = c.get('session');
  if (!session) throw new Error('renderCancelPage needs a guarded route');
  const detail = await ctx.notices.get(noticeId);
  const current = currentRevisionOf(detail);
  const unapproved = detail.status === 'pending_approval' || detail.status === 'returned';
  const base = noticePath(noticeId);
  const { errors } = state;
  return sendConsolePage(
    c,
    <ConsoleLayout title={`${unapproved ? '取り下げ' : '取消'}の確認`} session={session} section="notices">
      <p>
        <a href={base}>← 通知の詳細へ戻る / Back to the notice</a>
      </p>
      <h1>
        {unapproved ? '通知を取り下げますか' : '通知を取り消しますか'}{' '}
        <En>{unapproved ? 'Withdraw' : 'Cancel'} this notice?</En>
      </h1>
      <ErrorSummary errors={errors} />
      <p>
        <strong>{markedTitle(current, 'ja')}</strong>（<StatusBadge status={detail.status} />）
      </p>
      {detail.status === 'cancelled' ? (
        <p class="flash warn">
          この通知はすでに取り消されています。 <En>This notice is already cancelled.</En>
        </p>
      ) : (
        <form method="post" action={`${base}/cancel`}>
          <CsrfField session={session} />
          {!unapproved && current.severity === 'emergency' ? (
            <p class="flash warn">
              緊急の通知の取消は、承認者(approver)の承認を受けてから配信されます。{' '}
              <En>Cancelling an emergency is sent once approvers have approved it.</En>
            </p>
          ) : null}
          {unapproved ? (
            <p>
              まだ承認されておらず誰にも配信していないため、取り下げても住民には何も送りません。{' '}
              <En>It was never sent, so nothing goes to residents.</En>
            </p>
          ) : (
            <p>
              取り消すと「【取消】」の通知が同じ宛先に配信され、公開ページとCAPフィードにも取消が表示されます。元に戻すことはできません。{' '}
              <En>
                A cancellation goes to the same audience and appears on the public page and CAP feed. It cannot be
                undone.
              </En>
            </p>
          )}
          <label for="cancel-reason">
            取消の理由（任意） <En>Reason (optional)</En>
          </label>
          <textarea id="cancel-reason" name="reason" rows={3} maxlength={1000} aria-describedby="cancel-reason-hint">
            {state.reason}
          </textarea>
          <p class="hint" id="cancel-reason-hint">
            {unapproved ? '監査ログに残ります。' : '住民に届く取消のお知らせに載ります。'}{' '}
            <En>{unapproved ? 'Kept in the audit log.' : 'Shown to residents in the cancellation.'}</En>
          </p>
          <fieldset>
            <legend>
              確認 <En>Confirmation</En>
            </legend>
            <label>
              <input
                type="checkbox"
                id="cancel-confirm"
                name="confirm"
                value="yes"
                required
                {...fieldAria(errors['cancel-confirm'], { error: 'cancel-confirm-error' })}
              />
              この通知を{unapproved ? '取り下げる' : '取り消す'}ことを確認しました
            </label>
            <FieldError id="cancel-confirm-error" reasons={errors['cancel-confirm']} />
          </fieldset>
          <div class="actions">
            <button type="submit" class="danger">
              {unapproved ? '取り下げる' : '取り消す'}{' '}
              <span lang="en">/ {unapproved ? 'Withdraw' : 'Cancel notice'}</span>
            </button>
            <a class="button secondary" href={base}>
              やめる <span lang="en">/ Keep it</span>
            </a>
          </div>
        </form>
      )}
    </ConsoleLayout>,
    Object.keys(errors).length > 0 ? 400 : 200,
  );
}

export const createNoticeDetailPage: ConsolePageModule = (ctx) => {
  const app = new Hono<ConsoleEnv>();
  const logger = ctx.deps.logger.child({ component: 'console-progress' });
  const onNotice = noticeRoutes(app, ctx.guard('author'));
  const slots = createStreamSlots();

  onNotice('get', '', (c, id) => renderNoticeDetail(c, ctx, id));

  onNotice('get', '/events', async (c, id) => {
    // Before the stream starts, so an unknown notice is a 404 the EventSource gives up on.
    const first = await loadProgress(ctx.notices, ctx.deps.store.deliveries, id);
    // The guard let only a signed-in session here; its CSRF token is the session's own name.
    const release = slots.take(c.get('session')?.csrfToken ?? '');
    if (!release) {
      logger.info(
        { noticeId: id, max: STREAMS_PER_SESSION },
        'progress stream refused: the session has its streams open',
      );
      // A 429 ends an EventSource for good (it retries only a dropped 200): the page keeps its last counts.
      throw new ApiError(
        429,
        'too_many_streams',
        {
          ja: `進み具合を表示している画面が多すぎます（1 つのサインインで ${STREAMS_PER_SESSION} つまで）。ほかのタブを閉じてから、この画面を再読み込みしてください。`,
          en: `Too many pages are showing live progress (${STREAMS_PER_SESSION} per sign-in). Close other tabs, then reload this page.`,
        },
        { headers: { 'Retry-After': '10' } },
      );
    }
    return streamSSE(
      c,
      // The slot is given back however the stream ends: done, closed by the browser, cut after MAX_STREAM_MS, or failed.
      releasing(release, async (stream) => {
        const aborted = new AbortController();
        stream.onAbort(() => aborted.abort());
        const started = Date.now();
        let progress = first.progress;
        let initial = true;
        for (;;) {
          const final = !progress.live;
          await stream.writeSSE({
            event: final ? 'done' : 'progress',
            data: JSON.stringify(progress),
            ...(initial ? { retry: 5000 } : {}),
          });
          initial = false;
          if (final || aborted.signal.aborted || Date.now() - started >= MAX_STREAM_MS) return;
          await sleep(PROGRESS_INTERVAL_MS, undefined, { signal: aborted.signal }).catch(() => undefined);
          if (aborted.signal.aborted) return;
          progress = (await loadProgress(ctx.notices, ctx.deps.store.deliveries, id)).progress;
        }
      }),
      async (err) => {
        logger.error({ noticeId: id, err: { message: err.message } }, 'progress stream failed');
      },
    );
  });

  onNotice('post', '/retry', async (c, id) => {
    const result = await ctx.notices.retry(id, c.get('staff'));
    return c.redirect(`${noticePath(id)}?done=retried&rows=${result.rows}`, 303);
  });

  onNotice('get', '/cancel', (c, id) => renderCancelPage(c, ctx, id));

  onNotice('post', '/cancel', async (c, id) => {
    const reason = ((await formField(c, 'reason')) ?? '').trim();
    if ((await formField(c, 'confirm')) !== 'yes') {
      return renderCancelPage(c, ctx, id, {
        reason,
        errors: {
          'cancel-confirm': [
            { ja: '取り消す前に、確認の欄にチェックを入れてください', en: 'Tick the confirmation box to cancel' },
          ],
        },
      });
    }
    const result = await ctx.notices.cancel(id, reason === '' ? undefined : reason, c.get('staff'));
    const done = result.proposal
      ? 'proposed'
      : result.revision.kind !== 'cancel'
        ? 'withdrawn'
        : result.sent
          ? 'cancelled'
          : 'cancelled_silent';
    return c.redirect(`${noticePath(id)}?done=${done}`, 303);
  });

  return app;
};
