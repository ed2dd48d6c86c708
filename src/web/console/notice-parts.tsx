import type { FC } from 'hono/jsx';
import type { Bilingual } from '../../domain/bilingual.ts';
import { STATUS_WORD } from '../../domain/labels.ts';
import type { DerivedStatus } from '../../services/notices/index.ts';
import { En } from './console-layout.tsx';
/**
 * Small pieces shared by the notice list, the notice page and the approvals list; the
 * severity badge and times are the public pages' own (../notice-parts.tsx).
 */

export const StatusBadge: FC<{ status: DerivedStatus; id?: string }> = ({ status, id }) => (
  <>
    <span class="status" id={id}>
      {STATUS_WORD[status].ja}
    </span>{' '}
    <En>{STATUS_WORD[status].en}</En>
  </>
);

export const Words: FC<{ text: Bilingual }> = ({ text }) => (
  <>
    {text.ja} <En>{text.en}</En>
  </>
);

/** A table's column headings, each in both languages. */
export const TableHead: FC<{ columns: Bilingual[] }> = ({ columns }) => (
  <thead>
    <tr>
      {columns.map((text) => (
        <th scope="col">
          <Words text={text} />
        </th>
      ))}
    </tr>
  </thead>
);
