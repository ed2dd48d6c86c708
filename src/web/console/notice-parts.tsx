import type { FC } from 'hono/jsx';
import type { Bilingual } from '../../api/errors.ts';
import { SEVERITY_COLOUR, SEVERITY_WORD } from '../../domain/labels.ts';
import type { Severity } from '../../domain/notice.ts';
import type { DerivedStatus } from '../../services/notices.ts';
import { formatJst, isoJst } from '../layout.tsx';
import { En } from './console-layout.tsx';
import { STATUS_WORD } from './console-words.ts';

/** Small pieces shared by the notice list, the notice page and the approvals list. */

/** Severity in words and colour: the word carries the meaning for anyone who cannot see the colour. */
export const SeverityBadge: FC<{ severity: Severity }> = ({ severity }) => (
  <>
    <span class="badge" style={`background:${SEVERITY_COLOUR[severity]}`}>
      {SEVERITY_WORD.ja[severity]}
    </span>{' '}
    <En>{SEVERITY_WORD.en[severity]}</En>
  </>
);

export const StatusBadge: FC<{ status: DerivedStatus; id?: string }> = ({ status, id }) => (
  <>
    <span class="status" id={id}>
      {STATUS_WORD[status].ja}
    </span>{' '}
    <En>{STATUS_WORD[status].en}</En>
  </>
);

export const JstTime: FC<{ at: Date }> = ({ at }) => <time datetime={isoJst(at)}>{formatJst(at)}</time>;

export const Words: FC<{ text: Bilingual }> = ({ text }) => (
  <>
    {text.ja} <En>{text.en}</En>
  </>
);

export interface FieldProblem {
  /** The id of the control it belongs to, for the summary's link. */
  field: string;
  message: Bilingual;
}

/** The list of problems at the top of a form, each linking to its field. */
export const ErrorSummary: FC<{ problems: FieldProblem[] }> = ({ problems }) =>
  problems.length === 0 ? null : (
    <div class="flash bad" role="alert" aria-labelledby="error-summary-title">
      <p id="error-summary-title">
        <strong>入力内容を確認してください</strong> <En>Please check the form</En>
      </p>
      <ul>
        {problems.map((p) => (
          <li>
            <a href={`#${p.field}`}>{p.message.ja}</a> <En>{p.message.en}</En>
          </li>
        ))}
      </ul>
    </div>
  );

/** The message beside a field, referred to by its aria-describedby. */
export const FieldMessage: FC<{ field: string; problems: FieldProblem[] }> = ({ field, problems }) => {
  const mine = problems.filter((p) => p.field === field);
  if (mine.length === 0) return null;
  return (
    <p class="error" id={`${field}-error`}>
      {mine.map((p) => (
        <>
          {p.message.ja} <En>{p.message.en}</En>{' '}
        </>
      ))}
    </p>
  );
};

/** aria attributes for a control with or without a problem. */
export function fieldAria(
  field: string,
  problems: FieldProblem[],
  hint?: string,
): { 'aria-invalid'?: 'true'; 'aria-describedby'?: string } {
  const bad = problems.some((p) => p.field === field);
  const ids = [bad ? `${field}-error` : undefined, hint].filter(Boolean).join(' ');
  return { ...(bad ? { 'aria-invalid': 'true' as const } : {}), ...(ids ? { 'aria-describedby': ids } : {}) };
}
