import type { Context } from 'hono';
import type { Bilingual } from '../../domain/bilingual.ts';
import type { Revision } from '../../domain/revision.ts';
import { hasRole, type StaffIdentity } from '../../domain/staff.ts';
import { asApiError } from '../../http/errors.ts';
import { ChannelPreviews, describePreview, type PreviewModel, PreviewProblems } from './channel-previews.tsx';
import { FIELD_LABEL } from './compose-fields.tsx';
import type { ConsolePageContext } from './console-routes.tsx';
import { withLabel } from './form-errors.tsx';
import {
  correctionChanges,
  type FormChoices,
  type NoticeFormValues,
  parseNoticeForm,
  readNoticeForm,
} from './notice-form.ts';
import type { ConsoleEnv } from './session.ts';

/**
 * The compose preview: the notice as each channel will show it, or what must be filled in
 * first. The compose page shows it after "preview"; compose.js swaps the fragment in while
 * staff type.
 */

/** What a notice may be sent to and about. */
export const formChoices = (ctx: ConsolePageContext): FormChoices => ({
  catalogue: ctx.deps.catalogue,
  channels: ctx.deps.channels.ids(),
});

export const canSendEmergency = (staff: StaffIdentity) => hasRole(staff, 'approver');

/** Builds the preview over the console's dependencies. */
export function createComposePreview(ctx: ConsolePageContext) {
  const { notices } = ctx;
  const choices = (): FormChoices => formChoices(ctx);

  /** Renders the notice on every channel, or says what must be filled in first. */
  async function previewOf(
    values: NoticeFormValues,
    staff: StaffIdentity,
    correcting?: Revision,
  ): Promise<PreviewModel | { problems: Bilingual[] }> {
    const parsed = parseNoticeForm(values, choices(), {
      canSendEmergency: canSendEmergency(staff),
      allowPastSchedule: true,
    });
    if (!parsed.ok) {
      if (values.title.trim() === '' && values.body.trim() === '') {
        return {
          problems: [
            {
              ja: '件名と本文を入力すると、各チャネルでの表示がここに出ます。',
              en: 'Enter a title and body to see the preview.',
            },
          ],
        };
      }
      return {
        problems: Object.entries(parsed.errors).flatMap(([name, reasons]) =>
          (reasons ?? []).map((r) => {
            const label = FIELD_LABEL[name as keyof typeof FIELD_LABEL];
            return label ? withLabel(label, r) : r;
          }),
        ),
      };
    }
    try {
      if (!correcting) return describePreview(notices.preview(parsed.input));
      const changes = correctionChanges(parsed.input, values, correcting);
      if (Object.keys(changes).length === 0) {
        return {
          problems: [
            {
              ja: 'まだ何も変えていません。変えた項目が訂正として届きます。',
              en: 'Nothing is changed yet; the fields you change go out as the correction.',
            },
          ],
        };
      }
      // Rendered as the correction will go out: the next revision, marked 【訂正】.
      return describePreview(await notices.previewCorrection(correcting.noticeId, changes));
    } catch (thrown) {
      const err = asApiError(thrown);
      if (!err) throw thrown;
      const fields = Object.values(err.fields ?? {}).flat();
      return { problems: fields.length > 0 ? fields : [{ ja: err.message, en: err.messageEn }] };
    }
  }

  /** The preview region alone, for compose.js to swap in while staff type. */
  async function previewFragment(c: Context<ConsoleEnv>, correcting?: Revision) {
    const values = readNoticeForm(await c.req.parseBody({ all: true }));
    const preview = await previewOf(values, c.get('staff'), correcting);
    const fragment =
      'problems' in preview ? (
        <PreviewProblems problems={preview.problems} summary="プレビューできません" />
      ) : (
        <ChannelPreviews model={preview} />
      );
    return c.html(await Promise.resolve(fragment.toString()), 200, {
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
  }

  return { previewOf, previewFragment };
}
