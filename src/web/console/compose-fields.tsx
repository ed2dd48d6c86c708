import type { Child, FC } from 'hono/jsx';
import type { Bilingual, FieldErrors } from '../../domain/bilingual.ts';
import type { Severity } from '../../domain/notice.ts';
import { En } from './console-layout.tsx';
import { ErrorSummary, FieldError, fieldAria } from './form-errors.tsx';
import { type FormErrors, NOTICE_FORM_FIELDS, type NoticeFormField, type NoticeFormValues } from './notice-form.ts';
import { Words } from './notice-parts.tsx';
/**
 * The compose form's parts: the field labels, the error summary and the field, radio and
 * checkbox controls. Every control has a visible label; an error sits between the label and
 * the control and is named by aria-describedby, so a screen reader reads it with the field.
 */

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
export const SEVERITY_ORDER: Severity[] = ['emergency', 'warning', 'advisory', 'info'];

/** Fields shown as a group of radios or checkboxes: errors link to the first option. */
export const GROUPS = new Set<NoticeFormField>(['severity', 'topics', 'areas', 'channels', 'mode']);

export const controlId = (field: NoticeFormField, index = 0): string =>
  GROUPS.has(field) ? `f-${field}-${index}` : `f-${field}`;
export const errorId = (field: string) => `e-${field}`;
export const hintId = (field: string) => `h-${field}`;

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
export const aria = (field: NoticeFormField, errors: FormErrors, hint: boolean) =>
  fieldAria(errors[field], hint ? hintId(field) : undefined, { error: errorId(field) });

export const Hint: FC<{ field: string; children: Child }> = ({ field, children }) => (
  <p class="hint" id={hintId(field)}>
    {children}
  </p>
);

export const Required = () => (
  <>
    （必須）
    <span class="visually-hidden" lang="en">
      {' '}
      required
    </span>
  </>
);

export interface FormProps {
  values: NoticeFormValues;
  errors: FormErrors;
}

/** The one-line fields; the two times are typed as JST date and time (datetime-local). */
export const InputField: FC<
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

export interface Option {
  value: string;
  label: Child;
}

/** An option named in both languages. */
export const option = (value: string, name: Bilingual): Option => ({ value, label: <Words text={name} /> });

/** A group of radios or checkboxes: the legend names it, each option has its own label. */
export const ChoiceGroup: FC<
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
