import type { FC } from 'hono/jsx';
import type { Bilingual } from '../../domain/bilingual.ts';
import { En } from './console-layout.tsx';
/**
 * How every console form says what was wrong with it: a summary at the top that a screen
 * reader announces (role="alert") with a link to each field, the reasons beside each field,
 * and the aria attributes that tie those reasons to the control.
 */

/** Reasons per field (the key the summary links through idOf); `form` is for what belongs to no one field. */
export type FormProblems = Readonly<Record<string, readonly Bilingual[] | undefined>>;

/** "件名: 入力してください" (and in English), unless the reason names its field already (a template's reasons do). */
export const withLabel = (label: Bilingual, reason: Bilingual): Bilingual =>
  reason.ja.includes(label.ja) ? reason : { ja: `${label.ja}: ${reason.ja}`, en: `${label.en}: ${reason.en}` };

export const ErrorSummary: FC<{
  errors: FormProblems;
  /** Field names put before reasons that do not say which field they are about. */
  labels?: Readonly<Record<string, Bilingual | undefined>>;
  /** The id of the control a field's link goes to; by default the field's key. */
  idOf?: (field: string) => string;
  /** 3 inside a section that has its own h2, so the page's outline stays in order. */
  level?: 2 | 3;
}> = ({ errors, labels = {}, idOf = (field) => field, level = 2 }) => {
  const entries = Object.entries(errors).filter(([, reasons]) => (reasons?.length ?? 0) > 0);
  if (entries.length === 0) return null;
  const Heading = level === 3 ? 'h3' : 'h2';
  return (
    <div class="flash bad" role="alert">
      <Heading>
        入力内容を確認してください <En>There is a problem</En>
      </Heading>
      <ul>
        {entries.flatMap(([field, reasons]) =>
          (reasons ?? []).map((r) => {
            if (field === 'form') {
              return (
                <li>
                  {r.ja} <En>{r.en}</En>
                </li>
              );
            }
            const label = labels[field];
            return (
              <li>
                <a href={`#${idOf(field)}`}>{label ? withLabel(label, r).ja : r.ja}</a> <En>{r.en}</En>
              </li>
            );
          }),
        )}
      </ul>
    </div>
  );
};

/** The reasons beside a field; `id` is what the control's aria-describedby names. */
export const FieldError: FC<{ id: string; reasons: readonly Bilingual[] | undefined }> = ({ id, reasons }) =>
  reasons && reasons.length > 0 ? (
    <p class="error" id={id}>
      {reasons.map((r) => (
        <>
          {r.ja} <En>{r.en}</En>{' '}
        </>
      ))}
    </p>
  ) : null;

/** One id for a control's aria-describedby: a hint's (always), or an error message's (only while there is one). */
export type DescribedBy = string | { error: string } | undefined;

/** aria-invalid and aria-describedby for a control with these reasons; `describedBy` in reading order. */
export function fieldAria(
  reasons: readonly Bilingual[] | undefined,
  ...describedBy: DescribedBy[]
): { 'aria-invalid'?: 'true'; 'aria-describedby'?: string } {
  const invalid = (reasons?.length ?? 0) > 0;
  const ids = describedBy.flatMap((d) => {
    if (d === undefined) return [];
    if (typeof d === 'string') return [d];
    return invalid ? [d.error] : [];
  });
  return {
    ...(invalid ? { 'aria-invalid': 'true' as const } : {}),
    ...(ids.length > 0 ? { 'aria-describedby': ids.join(' ') } : {}),
  };
}
