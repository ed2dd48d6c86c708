import type { Child, FC } from 'hono/jsx';
import { CHANNEL_WORD } from '../../../channels/catalog.ts';
import type { Bilingual, FieldErrors } from '../../domain/bilingual.ts';
import { CATEGORY_EN, MODE_WORD } from '../../domain/labels.ts';
import { CATEGORIES, type ChannelId, MODES, type Mode, type Severity } from '../../domain/notice.ts';
import type { NoticeTemplate, TemplateField } from '../../domain/notice-templates.ts';
import type { ConsoleSession } from '../../store/staff-sessions.ts';
import { SeverityBadge } from '../notice-parts.tsx';
import { ChannelPreviews, type PreviewModel, PreviewProblems } from './channel-previews.tsx';
import { CsrfField, En } from './console-layout.tsx';
import { ErrorSummary, FieldError, fieldAria } from './form-errors.tsx';
import {
  type FormChoices,
  type FormErrors,
  NOTICE_FORM_FIELDS,
  type NoticeFormField,
  type NoticeFormValues,
  needsApproval,
} from './notice-form.ts';
import { Words } from './notice-parts.tsx';
/**
 * The compose form and what surrounds it: the error summary, the template picker and the
 * preview pane. Every control has a visible label; an error sits between the label and the
 * control and is named by aria-describedby, so a screen reader reads it with the field.
 */

export type ComposeKind = 'new' | 'correct' | 'resubmit';

export const FIELD_LABEL: Record<NoticeFormField, Bilingual> = {
  title: { ja: '件名', en: 'Title' },
  body: { ja: '本文', en: 'Body' },
  severity: { ja: '重要度', en: 'Severity' },
  category: { ja: '分類', en: 'Category' },
  topics: { ja: 'トピック', en: 'Topics' },
  areas: { ja: '対象地域', en: 'Areas' },
  channels: { ja: '配信先', en: 'Channels' },
  mode: { ja: '種別', en: 'Mode' },
  scheduledAt: { ja: '配信日時', en: 'Send at' },
  expiresAt: { ja: '有効期限', en: 'Expires' },
  department: { ja: '発表課', en: 'Department' },
  link: { ja: '関連リンク', en: 'Related link' },
  requestApproval: { ja: '承認の依頼', en: 'Approval' },
  comment: { ja: '承認者へのコメント', en: 'Note to approvers' },
};

/** Most severe first, as staff reach for it in an emergency. */
const SEVERITY_ORDER: Severity[] = ['emergency', 'warning', 'advisory', 'info'];

/** Fields shown as a group of radios or checkboxes: errors link to the first option. */
const GROUPS = new Set<NoticeFormField>(['severity', 'topics', 'areas', 'channels', 'mode']);

export const controlId = (field: NoticeFormField, index = 0): string =>
  GROUPS.has(field) ? `f-${field}-${index}` : `f-${field}`;
const errorId = (field: string) => `e-${field}`;
const hintId = (field: string) => `h-${field}`;

/** Service field errors, under the form's field names (they are the same names) or the form as a whole. */
export function formErrorsOf(fields: FieldErrors | undefined, message: Bilingual): FormErrors {
  const errors: FormErrors = {};
  const known = new Set<string>(NOTICE_FORM_FIELDS);
  for (const [name, reasons] of Object.entries(fields ?? {})) {
    const key = known.has(name) ? (name as NoticeFormField) : 'form';
    errors[key] = [...(errors[key] ?? []), ...reasons];
  }
  if (Object.keys(errors).length === 0) errors.form = [message];
  return errors;
}

/** The notice form's error summary: each reason after its field's label, linked to its control. */
export const NoticeErrorSummary: FC<{ errors: FormErrors }> = ({ errors }) => (
  <ErrorSummary errors={errors} labels={FIELD_LABEL} idOf={(field) => controlId(field as NoticeFormField)} />
);

/** A field's aria attributes: its hint (when it has one), then its error (while it has one). */
const aria = (field: NoticeFormField, errors: FormErrors, hint: boolean) =>
  fieldAria(errors[field], hint ? hintId(field) : undefined, { error: errorId(field) });

const Hint: FC<{ field: string; children: Child }> = ({ field, children }) => (
  <p class="hint" id={hintId(field)}>
    {children}
  </p>
);

const Required = () => (
  <>
    （必須）
    <span class="visually-hidden" lang="en">
      {' '}
      required
    </span>
  </>
);

interface FormProps {
  values: NoticeFormValues;
  errors: FormErrors;
}

/** The one-line fields; the two times are typed as JST date and time (datetime-local). */
const InputField: FC<
  FormProps & {
    field: 'title' | 'department' | 'link' | 'scheduledAt' | 'expiresAt';
    required?: boolean;
    hint?: Child;
    inputmode?: 'url';
  }
> = ({ values, errors, field, required, hint, inputmode }) => (
  <div>
    <label for={controlId(field)}>
      {FIELD_LABEL[field].ja}
      {required ? <Required /> : null} <En>{FIELD_LABEL[field].en}</En>
    </label>
    {hint ? <Hint field={field}>{hint}</Hint> : null}
    <FieldError id={errorId(field)} reasons={errors[field]} />
    <input
      type={field === 'scheduledAt' || field === 'expiresAt' ? 'datetime-local' : 'text'}
      id={controlId(field)}
      name={field}
      value={values[field]}
      inputmode={inputmode}
      {...aria(field, errors, Boolean(hint))}
    />
  </div>
);

interface Option {
  value: string;
  label: Child;
}

/** An option named in both languages. */
const option = (value: string, name: Bilingual): Option => ({ value, label: <Words text={name} /> });

/** A group of radios or checkboxes: the legend names it, each option has its own label. */
const ChoiceGroup: FC<
  FormProps & {
    field: 'severity' | 'topics' | 'areas' | 'channels' | 'mode';
    type: 'radio' | 'checkbox';
    options: Option[];
    required?: boolean;
    hint?: Child;
  }
> = ({ values, errors, field, type, options, required, hint }) => {
  const chosen = values[field];
  const isChosen = (v: string) => (Array.isArray(chosen) ? chosen.includes(v) : chosen === v);
  const { 'aria-invalid': invalid, 'aria-describedby': describedBy } = aria(field, errors, Boolean(hint));
  return (
    <fieldset id={`f-${field}`} aria-describedby={describedBy}>
      <legend>
        {FIELD_LABEL[field].ja}
        {required ? <Required /> : null} <En>{FIELD_LABEL[field].en}</En>
      </legend>
      {hint ? <Hint field={field}>{hint}</Hint> : null}
      <FieldError id={errorId(field)} reasons={errors[field]} />
      {options.map((o, i) => (
        <label for={controlId(field, i)}>
          <input
            type={type}
            id={controlId(field, i)}
            name={field}
            value={o.value}
            checked={isChosen(o.value)}
            aria-invalid={invalid}
          />
          {o.label}
        </label>
      ))}
    </fieldset>
  );
};

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

// ---- Templates --------------------------------------------------------------------------

const templateControlId = (i: number) => `t-${i}`;

export const TemplatePicker: FC<{
  templates: NoticeTemplate[];
  selected?: NoticeTemplate | undefined;
  values?: Record<string, string>;
  errors?: FieldErrors;
  session: ConsoleSession;
}> = ({ templates, selected, values = {}, errors = {}, session }) => (
  <section aria-labelledby="templates-title">
    <h2 id="templates-title">
      定型文を選ぶ <En>Choose a template</En>
    </h2>
    {templates.length === 0 ? (
      <p class="muted">定型文はまだありません（templates/notices/ に追加できます）。</p>
    ) : (
      <ul>
        {templates.map((t) => (
          <li>
            <a
              href={`/console/notices/new?template=${encodeURIComponent(t.id)}`}
              aria-current={selected?.id === t.id ? 'true' : undefined}
            >
              {t.name}
            </a>{' '}
            <SeverityBadge severity={t.severity} english="none" /> <En>{t.nameEn}</En>
          </li>
        ))}
      </ul>
    )}
    {selected ? <TemplateFieldsForm template={selected} values={values} errors={errors} session={session} /> : null}
  </section>
);

const TemplateControl: FC<{ field: TemplateField; i: number; value: string; reasons: Bilingual[] | undefined }> = ({
  field,
  i,
  value,
  reasons,
}) => {
  const common = {
    id: templateControlId(i),
    name: `v.${field.key}`,
    ...fieldAria(reasons, field.hint || field.example ? `th-${i}` : undefined, { error: `te-${i}` }),
  };
  if (field.kind === 'textarea' || field.kind === 'area-list') {
    return (
      <textarea {...common} rows={3} style="min-height:5rem">
        {value}
      </textarea>
    );
  }
  return <input {...common} type={field.kind === 'datetime' ? 'datetime-local' : 'text'} value={value} />;
};

export const TemplateFieldsForm: FC<{
  template: NoticeTemplate;
  values: Record<string, string>;
  errors: FieldErrors;
  session: ConsoleSession;
}> = ({ template, values, errors, session }) => (
  <form method="post" action="/console/notices/new/template" novalidate>
    <CsrfField session={session} />
    <input type="hidden" name="template" value={template.id} />
    <h3>
      {template.name} <En>{template.nameEn}</En>
    </h3>
    <p class="hint">
      項目を入れると、件名・本文・重要度・分類・トピックが入った作成画面になります。配信の前に内容を確かめられます。{' '}
      <En>Fill in the fields to get the compose form with the wording filled in; nothing is sent yet.</En>
    </p>
    <ErrorSummary
      errors={errors}
      labels={Object.fromEntries(template.fields.map((f) => [f.key, { ja: f.label, en: f.labelEn }]))}
      idOf={(key) =>
        templateControlId(
          Math.max(
            0,
            template.fields.findIndex((f) => f.key === key),
          ),
        )
      }
    />
    {template.fields.map((f, i) => (
      <div>
        <label for={templateControlId(i)}>
          {f.label}
          {f.required ? <Required /> : null} <En>{f.labelEn}</En>
        </label>
        {f.hint || f.example ? (
          <p class="hint" id={`th-${i}`}>
            {f.hint ?? ''}
            {f.example ? `（例: ${f.example}）` : ''} {f.hintEn ? <En>{f.hintEn}</En> : null}
          </p>
        ) : null}
        <FieldError id={`te-${i}`} reasons={errors[f.key]} />
        <TemplateControl field={f} i={i} value={values[f.key] ?? ''} reasons={errors[f.key]} />
      </div>
    ))}
    <div class="actions">
      <button type="submit">この内容で文面を作る</button>
      <a class="button secondary" href="/console/notices/new">
        定型文を使わずに書く
      </a>
    </div>
  </form>
);
