import type { Bilingual } from '../../api/errors.ts';
import type { ChannelId, Mode, RevisionKind } from '../../domain/notice.ts';
import type { DerivedStatus } from '../../services/notices.ts';
import type { ApprovalDecision } from '../../store/schema.ts';

/**
 * The words the console uses for states and channels, in one place, so the list, the
 * detail page, the live progress and the approvals screen never disagree.
 */

export const STATUS_WORD: Record<DerivedStatus, Bilingual> = {
  pending_approval: { ja: '承認待ち', en: 'Awaiting approval' },
  returned: { ja: '差し戻し', en: 'Returned' },
  scheduled: { ja: '予約', en: 'Scheduled' },
  queued: { ja: '配信待ち', en: 'Queued' },
  sending: { ja: '配信中', en: 'Sending' },
  completed: { ja: '完了', en: 'Completed' },
  completed_with_failures: { ja: '一部失敗', en: 'Completed with failures' },
  cancelled: { ja: '取消', en: 'Cancelled' },
};

/** The order staff meet the states in, for the status filter. */
export const STATUS_ORDER: DerivedStatus[] = [
  'pending_approval',
  'returned',
  'scheduled',
  'queued',
  'sending',
  'completed',
  'completed_with_failures',
  'cancelled',
];

export const CHANNEL_WORD: Record<ChannelId, Bilingual> = {
  mail: { ja: 'メール', en: 'E-mail' },
  x: { ja: 'X（旧Twitter）', en: 'X' },
  line: { ja: 'LINE', en: 'LINE' },
  webpush: { ja: 'アプリ通知（Web Push）', en: 'Web Push' },
  cap: { ja: 'CAP（Lアラート）', en: 'CAP feed' },
  webhook: { ja: 'Webhook（外部連携）', en: 'Webhooks' },
};

export const MODE_WORD: Record<Mode, Bilingual> = {
  actual: { ja: '実運用', en: 'Actual' },
  exercise: { ja: '訓練', en: 'Exercise' },
  test: { ja: 'テスト', en: 'Test' },
};

export const KIND_WORD: Record<RevisionKind, Bilingual> = {
  alert: { ja: '発表', en: 'Issued' },
  update: { ja: '訂正', en: 'Correction' },
  cancel: { ja: '取消', en: 'Cancellation' },
};

export const DECISION_WORD: Record<ApprovalDecision, Bilingual> = {
  submitted: { ja: '申請', en: 'Submitted' },
  approved: { ja: '承認', en: 'Approved' },
  returned: { ja: '差し戻し', en: 'Returned' },
};

/** 12秒 / 3分4秒 / 1時間2分: how long residents waited, in words a screen reader reads well. */
export function formatDuration(ms: number): Bilingual {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return { ja: `${h}時間${m}分`, en: `${h} h ${m} min` };
  if (m > 0) return { ja: `${m}分${s}秒`, en: `${m} min ${s} s` };
  // Not 0秒: the delivery did take time, only less than the unit shown.
  if (total === 0) return { ja: '1秒未満', en: 'under 1 s' };
  return { ja: `${s}秒`, en: `${s} s` };
}
