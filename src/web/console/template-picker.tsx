import type { FC } from 'hono/jsx';
import type { Bilingual, FieldErrors } from '../../domain/bilingual.ts';
import type { NoticeTemplate, TemplateField } from '../../domain/notice-templates.ts';
import type { ConsoleSession } from '../../store/staff-sessions.ts';
import { SeverityBadge } from '../notice-parts.tsx';
import { Required } from './compose-fields.tsx';
import { CsrfField, En } from './console-layout.tsx';
import { ErrorSummary, FieldError, fieldAria } from './form-errors.tsx';

/** The template picker: choose a fixed template (an evacuation order and the like) and fill in its fields. */

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
