import type { Context, Hono } from 'hono';
import { formErrorsOf } from './compose-fields.tsx';
import type { ComposeKit } from './compose-kit.ts';
import type { PageOptions } from './compose-screens.tsx';
import { En } from './console-layout.tsx';
import type { ConsolePageContext } from './console-routes.tsx';
import {
  nonceOf,
  parseNoticeForm,
  readNoticeForm,
  resubmitChanges,
  textOf,
  valuesFromRevision,
} from './notice-form.ts';
import { noticePath } from './notice-paths.ts';
import { currentRevisionOf } from './notice-progress.ts';
import type { ConsoleEnv } from './session.ts';

type Ctx = Context<ConsoleEnv>;

/** A notice an approver returned: changed and submitted for approval again. */
export function addResubmitRoutes(app: Hono<ConsoleEnv>, ctx: ConsolePageContext, kit: ComposeKit) {
  const { notices } = ctx;
  const {
    choices,
    canSendEmergency,
    composePage,
    statePage,
    previewOf,
    claimOnce,
    releaseOnce,
    onceSpent,
    formRefusal,
  } = kit;

  async function loadReturned(c: Ctx, id: string) {
    const detail = await notices.get(id);
    const current = currentRevisionOf(detail);
    const refusal =
      detail.notice.status === 'returned'
        ? undefined
        : statePage(c, id, {
            ja:
              detail.notice.status === 'pending_approval'
                ? `通知 ${id} はすでに承認待ちです。`
                : `通知 ${id} は差し戻されていないため、再申請できません。`,
            en:
              detail.notice.status === 'pending_approval'
                ? `Notice ${id} is already waiting for approval.`
                : `Notice ${id} has not been returned, so it cannot be resubmitted.`,
          });
    const returned = detail.approval.approvals.findLast((s) => s.decision === 'returned');
    const note = returned ? (
      <div class="flash warn" role="note" aria-labelledby="return-comment-title">
        <h2 id="return-comment-title">
          承認者のコメント <En>Approver's comment</En>
        </h2>
        <p>
          <strong>{returned.actor}</strong>: {returned.comment ?? '（コメントなし）'}
        </p>
      </div>
    ) : null;
    return { current, refusal, note };
  }

  app.get('/console/notices/:id/resubmit', ctx.guard('author'), async (c) => {
    const id = c.req.param('id');
    const { current, refusal, note } = await loadReturned(c, id);
    if (refusal) return refusal;
    return composePage(c, { kind: 'resubmit', noticeId: id, values: valuesFromRevision(current), notice: note });
  });

  app.post('/console/notices/:id/resubmit', ctx.guard('author'), async (c) => {
    const id = c.req.param('id');
    const staff = c.get('staff');
    const body = await c.req.parseBody({ all: true });
    const action = textOf(body, '_action');
    const values = readNoticeForm(body);
    values.nonce = nonceOf(values);
    // A second click finds the notice already resubmitted (no longer returned): that is the first one's success.
    if (action === 'submit' && (await onceSpent('resubmit', values.nonce))) {
      return c.redirect(noticePath(id), 303);
    }
    const { current, refusal, note } = await loadReturned(c, id);
    if (refusal) return refusal;
    const page = (extra: Partial<PageOptions>) =>
      composePage(c, { kind: 'resubmit', noticeId: id, values, notice: note, ...extra });
    const parsed = parseNoticeForm(values, choices(), { canSendEmergency: canSendEmergency(staff) });
    if (action === 'preview') {
      return page({ errors: parsed.ok ? {} : parsed.errors, preview: await previewOf(values, staff), status: 200 });
    }
    if (!parsed.ok) return page({ errors: parsed.errors });
    if (!(await claimOnce('resubmit', values.nonce))) {
      return c.redirect(noticePath(id), 303);
    }
    try {
      await notices.resubmit(
        id,
        resubmitChanges(parsed.input, values, current),
        staff,
        values.comment.trim() || undefined,
      );
    } catch (err) {
      await releaseOnce('resubmit', values.nonce);
      const refused = formRefusal(err);
      if (!refused) throw err;
      return page({
        errors: formErrorsOf(refused.fields, { ja: refused.message, en: refused.messageEn }),
        status: refused.status,
      });
    }
    return c.redirect(`${noticePath(id)}?done=resubmitted`, 303);
  });
}
