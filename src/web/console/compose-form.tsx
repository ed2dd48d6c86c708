import type { FC } from 'hono/jsx';
import { CHANNEL_WORD } from '../../../channels/catalog.ts';
import type { Bilingual } from '../../domain/bilingual.ts';
import { CATEGORY_EN, MODE_WORD } from '../../domain/labels.ts';
import { CATEGORIES, type ChannelId, MODES, type Mode } from '../../domain/notice.ts';
import type { ConsoleSession } from '../../store/staff-sessions.ts';
import { SeverityBadge } from '../notice-parts.tsx';
import { ChannelPreviews, type PreviewModel, PreviewProblems } from './channel-previews.tsx';
import {
  aria,
  ChoiceGroup,
  controlId,
  errorId,
  FIELD_LABEL,
  type FormProps,
  Hint,
  hintId,
  InputField,
  option,
  Required,
  SEVERITY_ORDER,
} from './compose-fields.tsx';
import { CsrfField, En } from './console-layout.tsx';
import { FieldError } from './form-errors.tsx';
import { type FormChoices, type NoticeFormValues, needsApproval } from './notice-form.ts';
/**
 * The compose form and what surrounds it: the preview pane and the confirmation page's hidden
 * copy of the values (the field controls are in compose-fields.tsx, the template picker in
 * template-picker.tsx). Every control has a visible label; an error sits between the label and the
 * control and is named by aria-describedby, so a screen reader reads it with the field.
 */

export type ComposeKind = 'new' | 'correct' | 'resubmit';

export interface ComposeFormProps extends FormProps {
  kind: ComposeKind;
  action: string;
  choices: FormChoices;
  /** The city's name, for "none chosen means the whole city". */
  cityName: string;
  canSendEmergency: boolean;
  session: ConsoleSession;
  /** A correction names the revision it was made from, so a stale or repeated form is noticed. */
  baseRevision?: number;
  preview?: PreviewModel | { problems: Bilingual[] };
}

/** The submit button's words: an author's emergency, or a ticked box, asks for approval instead of sending. */
export function submitLabel(kind: ComposeKind, values: NoticeFormValues, canSendEmergency: boolean): string {
  if (kind === 'correct') return '訂正を配信する';
  if (kind === 'resubmit') return '再申請する';
  return needsApproval(values, canSendEmergency) ? '承認を依頼する' : '配信する';
}

export const ComposeForm: FC<ComposeFormProps> = (props) => {
  const { values, errors, kind, choices } = props;
  const fp = { values, errors };
  const preview = props.preview;
  return (
    <div class="compose">
      <form
        method="post"
        action={props.action}
        novalidate
        data-compose=""
        data-preview={kind === 'correct' ? `${props.action}/preview` : '/console/notices/preview'}
        data-can-send-emergency={props.canSendEmergency ? 'true' : 'false'}
        data-kind={kind}
      >
        <CsrfField session={props.session} />
        <input type="hidden" name="nonce" value={values.nonce} />
        {props.baseRevision !== undefined ? (
          <input type="hidden" name="baseRevision" value={String(props.baseRevision)} />
        ) : null}
        <InputField {...fp} field="title" required hint="住民に見える件名です。改行は入れられません。" />
        <div>
          <label for={controlId('body')}>
            {FIELD_LABEL.body.ja}
            <Required /> <En>{FIELD_LABEL.body.en}</En>
          </label>
          <p class="hint" id={hintId('body')}>
            X
            では長い本文は分割または省略されます。プレビュー（広い画面では右、スマートフォンでは下）で確かめてください。{' '}
            <span id="body-x-count" class="x-count">
              {preview && 'xCount' in preview && preview.xCount ? preview.xCount : ''}
            </span>
          </p>
          <FieldError id={errorId('body')} reasons={errors.body} />
          <textarea id={controlId('body')} name="body" rows={10} {...aria('body', errors, true)}>
            {values.body}
          </textarea>
        </div>
        <ChoiceGroup
          {...fp}
          field="severity"
          type="radio"
          required
          hint={
            props.canSendEmergency
              ? undefined
              : '作成者が「緊急」を選ぶと、配信せずに承認を依頼します（承認者が承認すると配信されます）。'
          }
          options={SEVERITY_ORDER.map((s) => ({
            value: s,
            label: (
              <>
                <SeverityBadge severity={s} english="En" />
              </>
            ),
          }))}
        />
        <div>
          <label for={controlId('category')}>
            {FIELD_LABEL.category.ja}
            <Required /> <En>{FIELD_LABEL.category.en}</En>
          </label>
          <FieldError id={errorId('category')} reasons={errors.category} />
          <select id={controlId('category')} name="category" {...aria('category', errors, false)}>
            {CATEGORIES.map((c) => (
              <option value={c} selected={values.category === c}>
                {c} / {CATEGORY_EN[c]}
              </option>
            ))}
          </select>
        </div>
        <ChoiceGroup
          {...fp}
          field="topics"
          type="checkbox"
          hint="選んだトピックを購読している人に届きます。選ばなければ、すべての購読者に届きます（緊急はトピックに関係なく届きます）。"
          options={choices.catalogue.topics.map((t) => option(t.id, { ja: t.name, en: t.nameEn }))}
        />
        <ChoiceGroup
          {...fp}
          field="areas"
          type="checkbox"
          hint={`選ばなければ市内全域（${props.cityName}全域）が対象です。`}
          options={choices.catalogue.areas.map((a) => option(a.code, { ja: a.name, en: a.nameEn }))}
        />
        <ChoiceGroup
          {...fp}
          field="channels"
          type="checkbox"
          required
          options={choices.channels.map((c: ChannelId) => option(c, CHANNEL_WORD[c]))}
        />
        {kind === 'correct' ? (
          <>
            <input type="hidden" name="mode" value={values.mode} />
            <p>
              <strong>{FIELD_LABEL.mode.ja}</strong>: {MODE_WORD[values.mode as Mode]?.ja ?? values.mode}
              （訂正では変えられません）
            </p>
          </>
        ) : (
          <ChoiceGroup
            {...fp}
            field="mode"
            type="radio"
            required
            hint="訓練・試験の通知は、すべてのチャネルで【訓練】と表示されます。"
            options={MODES.map((m) => option(m, MODE_WORD[m]))}
          />
        )}
        {kind === 'correct' ? null : (
          <InputField {...fp} field="scheduledAt" hint="日本時間。空欄なら今すぐ配信します。" />
        )}
        <InputField {...fp} field="expiresAt" hint="日本時間。空欄なら期限はありません。" />
        <InputField {...fp} field="department" hint="例: 危機管理防災課。空欄なら市として発表します。" />
        <InputField {...fp} field="link" inputmode="url" hint="https:// で始まる URL。なければ空欄。" />
        {kind === 'new' ? (
          <div>
            <label for={controlId('requestApproval')}>
              <input
                type="checkbox"
                id={controlId('requestApproval')}
                name="requestApproval"
                value="true"
                checked={values.requestApproval}
              />{' '}
              承認を依頼する（承認されるまで配信しません） <En>Ask for approval; nothing is sent until approved</En>
            </label>
          </div>
        ) : null}
        {kind === 'resubmit' ? (
          <div>
            <label for={controlId('comment')}>
              {FIELD_LABEL.comment.ja} <En>{FIELD_LABEL.comment.en}</En>
            </label>
            <Hint field="comment">直した点を書いておくと、承認者が確かめやすくなります（任意）。</Hint>
            <FieldError id={errorId('comment')} reasons={errors.comment} />
            <textarea id={controlId('comment')} name="comment" rows={3} {...aria('comment', errors, true)}>
              {values.comment}
            </textarea>
          </div>
        ) : null}
        <div class="actions">
          <button
            type="submit"
            name="_action"
            value="submit"
            data-submit=""
            data-label-send="配信する"
            data-label-approval="承認を依頼する"
          >
            {submitLabel(kind, values, props.canSendEmergency)}
          </button>
          <button type="submit" name="_action" value="preview" class="secondary">
            プレビュー <span lang="en">/ Preview</span>
          </button>
        </div>
        {kind === 'new' || kind === 'correct' ? (
          <p class="hint">
            実際の通知は、配信の前に確認の画面が出ます。{' '}
            <En>An actual notice asks for confirmation before it is sent.</En>
          </p>
        ) : null}
      </form>
      <section aria-labelledby="preview-title">
        <h2 id="preview-title">
          各チャネルでの表示 <En>Preview</En>
        </h2>
        <p id="preview-summary" class="hint" aria-live="polite">
          {preview && 'summary' in preview ? preview.summary : ''}
        </p>
        {preview === undefined ? (
          <div id="preview-body" data-summary="" data-x-count="">
            <p class="hint">
              入力すると、ここに各チャネルでの表示が出ます（JavaScript
              が無効なら「プレビュー」ボタンを押してください）。{' '}
              <En>The preview appears here as you type, or press Preview.</En>
            </p>
          </div>
        ) : 'problems' in preview ? (
          <PreviewProblems problems={preview.problems} summary="" />
        ) : (
          <ChannelPreviews model={preview} />
        )}
      </section>
    </div>
  );
};

/** The hidden copy of every value, so the confirmation page posts exactly what was checked. */
export const HiddenValues: FC<{ values: NoticeFormValues; baseRevision?: number | undefined }> = ({
  values,
  baseRevision,
}) => (
  <>
    {(
      [
        'title',
        'body',
        'severity',
        'category',
        'mode',
        'scheduledAt',
        'expiresAt',
        'department',
        'link',
        'comment',
        'nonce',
      ] as const
    ).map((name) => (
      <input type="hidden" name={name} value={values[name]} />
    ))}
    {(['topics', 'areas', 'channels'] as const).flatMap((name) =>
      values[name].map((v) => <input type="hidden" name={name} value={v} />),
    )}
    {values.requestApproval ? <input type="hidden" name="requestApproval" value="true" /> : null}
    {baseRevision !== undefined ? <input type="hidden" name="baseRevision" value={String(baseRevision)} /> : null}
  </>
);
