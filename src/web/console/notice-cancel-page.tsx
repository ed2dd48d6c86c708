import type { Context } from 'hono';
import { markedTitle } from '../../domain/marks.ts';
import { ConsoleLayout, CsrfField, En, sendConsolePage } from './console-layout.tsx';
import type { ConsolePageContext } from './console-routes.tsx';
import { ErrorSummary, FieldError, type FormProblems, fieldAria } from './form-errors.tsx';
import { StatusBadge } from './notice-parts.tsx';
import { noticePath } from './notice-paths.ts';
import { currentRevisionOf } from './notice-progress.ts';
import type { ConsoleEnv } from './session.ts';

/** The cancel confirmation: a reason for residents and a box to tick, so a stray click sends nothing. */
export async function renderCancelPage(
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
