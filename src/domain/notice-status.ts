import type { Bilingual } from './bilingual.ts';
import { UNAPPROVED_STATUSES } from './public-revisions.ts';
import { Refusal } from './refusal.ts';
import type { DeliveryStatus, NoticeStatus } from './statuses.ts';

/**
 * Which moves a notice's status allows (correct, cancel, withdraw, resubmit, retry) and the
 * status staff see, derived from the stored one and the delivery counts. Pure.
 */

/** The status as staff see it: the stored one, refined by how its deliveries stand. */
export type DerivedStatus =
  | 'pending_approval'
  | 'returned'
  | 'scheduled'
  | 'queued'
  | 'sending'
  | 'completed'
  | 'completed_with_failures'
  | 'cancelled';

export type StatusCounts = Record<DeliveryStatus, number>;

export const emptyCounts = (): StatusCounts => ({ queued: 0, sent: 0, failed: 0, skipped: 0 });

interface StatusFacts {
  id: string;
  status: NoticeStatus;
}

/** Statuses of a notice nobody has been sent yet, because an approver has not let it go. */
export const UNAPPROVED: NoticeStatus[] = [...UNAPPROVED_STATUSES];

export const isUnapproved = (status: NoticeStatus): boolean => UNAPPROVED.includes(status);

/** A scheduled notice whose time is still ahead: nobody has been sent it. */
export const awaitsSchedule = (
  notice: Pick<StatusFacts, 'status'>,
  current: { scheduledAt: Date | null },
  now: Date,
): boolean => notice.status === 'scheduled' && current.scheduledAt !== null && current.scheduledAt > now;

export function deriveStatus(
  notice: Pick<StatusFacts, 'status'>,
  current: { scheduledAt: Date | null },
  counts: StatusCounts | undefined,
  now: Date,
): DerivedStatus {
  if (notice.status === 'cancelled') return 'cancelled';
  if (notice.status === 'pending_approval' || notice.status === 'returned') return notice.status;
  const c = counts ?? emptyCounts();
  if (c.queued > 0) return 'sending';
  if (notice.status === 'dispatched') return c.failed > 0 ? 'completed_with_failures' : 'completed';
  if (c.sent + c.failed + c.skipped > 0) return 'sending';
  if (awaitsSchedule(notice, current, now)) return 'scheduled';
  return 'queued';
}

/** Corrections and retries are for notices that went out; one still under review is changed by resubmitting. */
export function refuseUnapproved(notice: StatusFacts, what: Bilingual): void {
  if (!isUnapproved(notice.status)) return;
  throw new Refusal('conflict', 'not_approved', {
    ja: `通知 ${notice.id} はまだ承認されておらず配信されていないため、${what.ja}できません（${
      notice.status === 'returned' ? '差し戻し中: 内容を直して再申請してください' : '承認待ち'
    }）`,
    en: `Notice ${notice.id} has not been approved or sent yet, so it cannot be ${what.en} (${
      notice.status === 'returned' ? 'returned: change it and resubmit' : 'waiting for approval'
    })`,
  });
}

/** A correction goes to a notice that went out and is not cancelled. */
export function refuseCorrection(notice: StatusFacts, current: { scheduledAt: Date | null }, now: Date): void {
  if (notice.status === 'cancelled') {
    throw new Refusal('conflict', 'notice_cancelled', {
      ja: `通知 ${notice.id} は取り消し済みのため訂正できません`,
      en: `Notice ${notice.id} is cancelled and cannot be corrected`,
    });
  }
  refuseUnapproved(notice, { ja: '訂正', en: 'corrected' });
  if (awaitsSchedule(notice, current, now)) {
    throw new Refusal('conflict', 'notice_scheduled', {
      ja: `通知 ${notice.id} はまだ配信されていません（予約中）。取り消してから新しく作成してください`,
      en: `Notice ${notice.id} has not been sent yet (scheduled); cancel it and post a new one`,
    });
  }
}

/** A notice is cancelled once. */
export function refuseCancel(notice: StatusFacts): void {
  if (notice.status === 'cancelled') {
    throw new Refusal('conflict', 'already_cancelled', {
      ja: `通知 ${notice.id} はすでに取り消されています`,
      en: `Notice ${notice.id} is already cancelled`,
    });
  }
}

/** Only a returned notice is resubmitted. */
export function notReturned(notice: StatusFacts): Refusal {
  return new Refusal('conflict', 'not_returned', {
    ja: `通知 ${notice.id} は差し戻されていないため再申請できません（現在: ${notice.status}）`,
    en: `Notice ${notice.id} has not been returned, so it cannot be resubmitted (status: ${notice.status})`,
  });
}

/** Another request moved the notice between reading and writing it. */
export function statusChanged(noticeId: string): Refusal {
  return new Refusal('conflict', 'status_changed', {
    ja: `通知 ${noticeId} の状態がちょうど変わりました。状態を確かめてからもう一度操作してください`,
    en: `Notice ${noticeId} changed state just now; check it and try again`,
  });
}
