import type { Category, Locale, Mode, RevisionKind, Severity } from './notice.ts';
import type { DerivedStatus } from './notice-status.ts';

import type { ApprovalDecision } from './statuses.ts';

/**
 * How a notice and its states read on every channel and page, in one place, so residents
 * see the same words and colours in their mail, on LINE and on the notice page, and staff
 * the same words on every console page and in the API's documentation.
 */

/** One thing said in Japanese and in English (the shape of the API's Bilingual). */
type Words = Record<Locale, string>;

export const SEVERITY_WORD: Record<Locale, Record<Severity, string>> = {
  ja: { emergency: '緊急', warning: '警戒', advisory: '注意', info: 'お知らせ' },
  en: { emergency: 'Emergency', warning: 'Warning', advisory: 'Advisory', info: 'Information' },
};

/** Dark enough for white text (WCAG AA); the word beside it carries the meaning, never the colour alone. */
export const SEVERITY_COLOUR: Record<Severity, string> = {
  emergency: '#b00020',
  warning: '#a34700',
  advisory: '#735600',
  info: '#1f5fa8',
};

export const CATEGORY_EN: Record<Category, string> = {
  避難情報: 'Evacuation information',
  避難所情報: 'Shelter information',
  被害情報: 'Damage reports',
  気象情報: 'Weather information',
  お知らせ: 'Announcements',
  イベント情報: 'Events',
};

export const KIND_WORD: Record<RevisionKind, Words> = {
  alert: { ja: '発表', en: 'Issued' },
  update: { ja: '訂正', en: 'Corrected' },
  cancel: { ja: '取消', en: 'Cancelled' },
};

export const MODE_WORD: Record<Mode, Words> = {
  actual: { ja: '実際', en: 'Actual' },
  exercise: { ja: '訓練', en: 'Exercise' },
  test: { ja: '試験', en: 'Test' },
};

/** A notice's status as staff see it, in the order they meet the states (the console's filter, the API's enum). */
export const DERIVED_STATUSES = [
  'pending_approval',
  'returned',
  'scheduled',
  'queued',
  'sending',
  'completed',
  'completed_with_failures',
  'cancelled',
] as const satisfies readonly DerivedStatus[];

export const STATUS_WORD: Record<DerivedStatus, Words> = {
  pending_approval: { ja: '承認待ち', en: 'Awaiting approval' },
  returned: { ja: '差し戻し', en: 'Returned' },
  scheduled: { ja: '予約', en: 'Scheduled' },
  queued: { ja: '配信待ち', en: 'Queued' },
  sending: { ja: '配信中', en: 'Sending' },
  completed: { ja: '完了', en: 'Completed' },
  completed_with_failures: { ja: '一部失敗', en: 'Completed with failures' },
  cancelled: { ja: '取消', en: 'Cancelled' },
};

export const DECISION_WORD: Record<ApprovalDecision, Words> = {
  submitted: { ja: '申請', en: 'Submitted' },
  approved: { ja: '承認', en: 'Approved' },
  returned: { ja: '差し戻し', en: 'Returned' },
};
