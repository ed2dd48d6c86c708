import type { Bilingual } from '../../domain/bilingual.ts';
import { DERIVED_STATUSES } from '../../domain/labels.ts';
import { SEVERITIES, type Severity } from '../../domain/notice.ts';

import type { NoticeStatus } from '../../domain/statuses.ts';
import type { DerivedStatus, NoticeDetail, NoticeService } from '../../services/notices/index.ts';
/**
 * The notice list's filters (status as staff see it, severity, a JST date range) over the
 * service's newest-first list and its cursor. The service filters by stored status only,
 * so the rest is checked here, row by row, reading at most SCAN_LIMIT notices a request.
 */

export interface NoticeFilter {
  status?: DerivedStatus;
  severity?: Severity;
  /** JST calendar dates, YYYY-MM-DD, both ends included. */
  from?: string;
  to?: string;
}

export type FilterField = keyof NoticeFilter;

/** Reasons per filter whose value could not be used. */
export type FilterErrors = Partial<Record<FilterField, Bilingual[]>>;

export interface NoticeSearchPage {
  items: NoticeDetail[];
  /** The service's cursor (the last notice read) to go on from; null when nothing is left. */
  nextCursor: string | null;
  /** True when the page stopped at SCAN_LIMIT before it was full: more may match further on. */
  partial: boolean;
}

/** Notices read per request at most, so a filter that matches nothing cannot read the whole table. */
export const SCAN_LIMIT = 500;
const BATCH = 50;

/**
 * Stored statuses a derived status can come from (see derive() in the notice service), to
 * skip the rest without reading their deliveries; the service's own word decides in the end.
 */
const STORED_FOR: Record<DerivedStatus, NoticeStatus[]> = {
  pending_approval: ['pending_approval'],
  returned: ['returned'],
  cancelled: ['cancelled'],
  scheduled: ['scheduled'],
  queued: ['queued', 'scheduled'],
  sending: ['queued', 'scheduled', 'dispatched'],
  completed: ['dispatched'],
  completed_with_failures: ['dispatched'],
};

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Midnight JST of a YYYY-MM-DD date, or undefined when it is not a real date. */
export function jstMidnight(date: string): Date | undefined {
  const m = DATE.exec(date);
  if (!m) return undefined;
  const at = new Date(`${date}T00:00:00+09:00`);
  if (Number.isNaN(at.getTime())) return undefined;
  // 2026-02-30 parses as 2 March: only a date that reads back the same is real.
  const back = new Date(at.getTime() + 9 * 3600_000).toISOString().slice(0, 10);
  return back === date ? at : undefined;
}

const DAY_MS = 24 * 3600_000;

/** Reads the list's query string; each unusable value is a reason under its field. */
export function parseNoticeFilter(query: Record<string, string | undefined>): {
  filter: NoticeFilter;
  errors: FilterErrors;
} {
  const filter: NoticeFilter = {};
  const errors: FilterErrors = {};
  const problem = (field: FilterField, message: Bilingual) => {
    errors[field] = [...(errors[field] ?? []), message];
  };
  const status = query.status?.trim();
  if (status) {
    if ((DERIVED_STATUSES as readonly string[]).includes(status)) filter.status = status as DerivedStatus;
    else problem('status', { ja: '状態を一覧から選んでください', en: 'Choose a status from the list' });
  }
  const severity = query.severity?.trim();
  if (severity) {
    if ((SEVERITIES as readonly string[]).includes(severity)) filter.severity = severity as Severity;
    else problem('severity', { ja: '重要度を一覧から選んでください', en: 'Choose a severity from the list' });
  }
  for (const field of ['from', 'to'] as const) {
    const value = query[field]?.trim();
    if (!value) continue;
    if (jstMidnight(value)) filter[field] = value;
    else
      problem(field, {
        ja: '日付は 2026-11-26 の形（年-月-日）で、実在する日を入力してください',
        en: 'Enter a real date as YYYY-MM-DD, e.g. 2026-11-26',
      });
  }
  if (filter.from && filter.to && filter.from > filter.to) {
    problem('to', {
      ja: '終了日は開始日と同じか、それより後の日にしてください',
      en: 'The end date must be on or after the start date',
    });
  }
  return { filter, errors };
}

/** One page of notices matching the filter, newest first. */
export async function searchNotices(
  notices: Pick<NoticeService, 'list' | 'get'>,
  filter: NoticeFilter,
  options: { cursor?: string; pageSize: number; scanLimit?: number },
): Promise<NoticeSearchPage> {
  const scanLimit = options.scanLimit ?? SCAN_LIMIT;
  const candidates = filter.status ? STORED_FOR[filter.status] : undefined;
  const storedStatus = candidates?.length === 1 ? candidates[0] : undefined;
  const from = filter.from ? jstMidnight(filter.from) : undefined;
  const toDay = filter.to ? jstMidnight(filter.to) : undefined;
  const before = toDay ? new Date(toDay.getTime() + DAY_MS) : undefined;

  const items: NoticeDetail[] = [];
  let cursor = options.cursor;
  let scanned = 0;
  for (;;) {
    const page = await notices.list({
      limit: Math.min(BATCH, scanLimit - scanned),
      ...(cursor ? { cursor } : {}),
      ...(storedStatus ? { status: storedStatus } : {}),
    });
    for (const [i, notice] of page.items.entries()) {
      scanned++;
      cursor = notice.id;
      // Newest first: once older than the range, nothing further on can match.
      if (from && notice.createdAt < from) return { items, nextCursor: null, partial: false };
      if (before && notice.createdAt >= before) continue;
      if (filter.severity && notice.severity !== filter.severity) continue;
      if (candidates && !candidates.includes(notice.status)) continue;
      const detail = await notices.get(notice.id);
      if (filter.status && detail.status !== filter.status) continue;
      items.push(detail);
      if (items.length === options.pageSize) {
        const last = i === page.items.length - 1 && page.nextCursor === null;
        return { items, nextCursor: last ? null : notice.id, partial: false };
      }
    }
    if (page.nextCursor === null) return { items, nextCursor: null, partial: false };
    if (scanned >= scanLimit) return { items, nextCursor: cursor ?? null, partial: true };
  }
}
