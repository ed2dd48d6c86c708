import type { Context, Hono } from 'hono';
import type { Revision } from '../../domain/revision.ts';
import type { StaffIdentity } from '../../domain/staff.ts';
import { formErrorsOf } from './compose-fields.tsx';
import type { ComposeKit } from './compose-kit.ts';
import type { PageOptions } from './compose-screens.tsx';
import { En } from './console-layout.tsx';
import type { ConsolePageContext } from './console-routes.tsx';
import {
  correctionChanges,
  type NoticeFormValues,
  nonceOf,
  parseNoticeForm,
  readNoticeForm,
  textOf,
  valuesFromRevision,
} from './notice-form.ts';
import { noticePath } from './notice-paths.ts';
import { currentRevisionOf } from './notice-progress.ts';
import type { ConsoleEnv } from './session.ts';

type Ctx = Context<ConsoleEnv>;

/** A correction of a notice that went out: only the changed fields are sent, as the next revision marked 【訂正】. */
export function addCorrectionRoutes(app: Hono<ConsoleEnv>, ctx: ConsolePageContext, kit: ComposeKit) {
  const { notices } = ctx;
  const {
    choices,
    canSendEmergency,
    composePage,
    confirmPage,
    statePage,
    previewOf,
    previewFragment,
    claimOnce,
    releaseOnce,
    formRefusal,
  } = kit;

  /** Why a notice cannot be corrected now, said before staff type anything; the service checks again. */
  async function loadForCorrection(c: Ctx, id: string) {
    const detail = await notices.get(id);
    const current = currentRevisionOf(detail);
    const status = detail.notice.status;
    let refusal: Response | Promise<Response> | undefined;
    if (status === 'cancelled') {
      refusal = statePage(c, id, {
        ja: `通知 ${id} は取り消し済みのため訂正できません。`,
        en: `Notice ${id} is cancelled and cannot be corrected.`,
      });
    } else if (status === 'returned') {
      refusal = statePage(
        c,
        id,
        {
          ja: `通知 ${id} は差し戻されています（まだ配信していません）。直して再申請してください。`,
          en: `Notice ${id} was returned and has not been sent; change it and resubmit.`,
        },
        { href: `${noticePath(id)}/resubmit`, text: '直して再申請する' },
      );
    } else if (status === 'pending_approval') {
      refusal = statePage(c, id, {
        ja: `通知 ${id} は承認待ちで、まだ配信していません。訂正は配信した後にできます。`,
        en: `Notice ${id} is waiting for approval and has not been sent; a correction comes after sending.`,
      });
    } else if (status === 'scheduled' && current.scheduledAt && current.scheduledAt > new Date()) {
      refusal = statePage(c, id, {
        ja: `通知 ${id} は予約中で、まだ配信していません。取り消してから新しく作成してください。`,
        en: `Notice ${id} is scheduled and not sent yet; cancel it and post a new one.`,
      });
    }
    return { detail, current, refusal };
  }

  /** What a correction does, and what the preview cannot show: the 【訂正】 mark the channels add. */
  const correctionNote = (current: Revision, staff: StaffIdentity) => (
    <>
      <p>
        第{current.revision}
        版を訂正します。変えた項目だけが訂正として、同じ配信先へ届きます。プレビューは訂正として届く形（件名に【訂正】）で示します。{' '}
        <En>
          Only the fields you change go out as a correction, to the same audience; the preview shows them as the
          correction.
        </En>
      </p>
      {current.severity === 'emergency' && !canSendEmergency(staff) ? (
        <div class="flash warn">
          <p>
            緊急の通知を訂正できるのは承認者(approver)以上です。{' '}
            <En>Only an approver can correct an emergency notice.</En>
          </p>
        </div>
      ) : null}
    </>
  );

  /** A correction has no schedule (it goes now) and keeps the notice's mode. */
  const correctionValues = (values: NoticeFormValues, current: Revision): NoticeFormValues => ({
    ...values,
    mode: current.mode,
    scheduledAt: '',
    requestApproval: false,
  });

  app.post('/console/notices/:id/correct/preview', ctx.guard('author'), async (c) => {
    const { current, refusal } = await loadForCorrection(c, c.req.param('id'));
    return refusal ?? previewFragment(c, current);
  });

  app.get('/console/notices/:id/correct', ctx.guard('author'), async (c) => {
    const id = c.req.param('id');
    const { current, refusal } = await loadForCorrection(c, id);
    if (refusal) return refusal;
    return composePage(c, {
      kind: 'correct',
      noticeId: id,
      baseRevision: current.revision,
      values: correctionValues(valuesFromRevision(current), current),
      notice: correctionNote(current, c.get('staff')),
    });
  });

  app.post('/console/notices/:id/correct', ctx.guard('author'), async (c) => {
    const id = c.req.param('id');
    const staff = c.get('staff');
    const body = await c.req.parseBody({ all: true });
    const action = textOf(body, '_action');
    const { current, refusal } = await loadForCorrection(c, id);
    if (refusal) return refusal;
    const values = correctionValues(readNoticeForm(body), current);
    values.nonce = nonceOf(values);
    const base = Number(textOf(body, 'baseRevision')) || current.revision;
    const page = (extra: Partial<PageOptions>) =>
      composePage(c, {
        kind: 'correct',
        noticeId: id,
        baseRevision: base,
        values,
        notice: correctionNote(current, staff),
        ...extra,
      });
    if (action === 'edit') return page({});
    const parsed = parseNoticeForm(values, choices(), {
      canSendEmergency: canSendEmergency(staff),
      allowPastSchedule: true,
    });
    if (action === 'preview') {
      return page({
        errors: parsed.ok ? {} : parsed.errors,
        preview: await previewOf(values, staff, current),
        status: 200,
      });
    }
    if (!parsed.ok) return page({ errors: parsed.errors });
    const changes = correctionChanges(parsed.input, values, current);
    const changed = Object.keys(changes);
    if (base !== current.revision) {
      // The same correction sent twice finds itself already applied: that is success, not a conflict.
      if (changed.length === 0) return c.redirect(noticePath(id), 303);
      return composePage(c, {
        kind: 'correct',
        noticeId: id,
        baseRevision: current.revision,
        values,
        status: 409,
        errors: {
          form: [
            {
              ja: `この通知は、この画面を開いた後に第${current.revision}版に更新されました。通知の詳細で最新の内容を確かめてから、もう一度送ってください。`,
              en: `The notice was updated to revision ${current.revision} after this form was opened; check it, then send again.`,
            },
          ],
        },
      });
    }
    if (changed.length === 0) {
      return page({
        errors: {
          form: [{ ja: '変更された項目がありません。訂正する項目を直してください。', en: 'Nothing was changed.' }],
        },
      });
    }
    if (current.mode === 'actual' && action !== 'confirm') {
      return confirmPage(c, 'correct', values, parsed.input, { noticeId: id, baseRevision: base, changed });
    }
    if (!(await claimOnce('correct', values.nonce))) {
      return c.redirect(noticePath(id), 303);
    }
    try {
      const result = await notices.correct(id, changes, staff);
      return c.redirect(`${noticePath(id)}?done=${result.proposal ? 'proposed' : 'corrected'}`, 303);
    } catch (err) {
      await releaseOnce('correct', values.nonce);
      const refused = formRefusal(err);
      if (!refused) throw err;
      return page({
        errors: formErrorsOf(refused.fields, { ja: refused.message, en: refused.messageEn }),
        status: refused.status,
      });
    }
  });
}
