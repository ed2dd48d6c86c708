import type { ApprovalState } from '../../domain/approval.ts';
import type { ChannelId, Locale } from '../../domain/notice.ts';
import type { DerivedStatus, StatusCounts } from '../../domain/notice-status.ts';
import type { toNoticeView } from '../../domain/notice-view.ts';
import type { Revision } from '../../domain/revision.ts';
import type { DeliveryRow } from '../../store/deliveries.ts';
import type { Notice } from '../../store/notices.ts';
import type { ProposedRevision } from '../../store/proposed-revisions.ts';

/** What the notice service answers: the shapes the API and the console show. */

export interface RevisionDetail extends Revision {
  /** Delivery rows per channel of this revision, by status. */
  counts: Partial<Record<ChannelId, StatusCounts>>;
}

export interface NoticeDetail {
  notice: Notice;
  status: DerivedStatus;
  revisions: RevisionDetail[];
  approval: ApprovalState;
  /** A correction or cancellation waiting for approval (the notice itself went out earlier). */
  proposal: ProposedRevision | null;
}

/** A revision that went out: stored and queued (or, for a scheduled one, withdrawn silently). */
export interface Released {
  notice: Notice;
  revision: Revision;
  /** False only for a cancellation of a notice still waiting for its schedule. */
  sent: boolean;
  proposal?: never;
}

/**
 * A correction or cancellation that was not sent but held for approval, because it touches
 * an emergency: nothing about it reaches anyone until approvers let it go.
 */
export interface Proposed {
  notice: Notice;
  proposal: ProposedRevision;
  approval: ApprovalState;
  revision?: never;
  sent?: never;
}

export interface ApprovalResult {
  notice: Notice;
  approval: ApprovalState;
  /** True when this approval was the last one needed: the notice is now queued or scheduled. */
  released: boolean;
}

export interface PostResult {
  notice: Notice;
  revision: Revision;
  /** True when an Idempotency-Key matched an earlier request: nothing new was created or sent. */
  replayed: boolean;
}

export interface RetryResult {
  revision: number;
  /** Delivery rows put back in the queue. */
  rows: number;
  /** Batch jobs added. */
  batches: number;
  /** True when the revision's dispatch itself had to be started again. */
  dispatchRestarted: boolean;
}

export interface PreviewRender {
  channel: ChannelId;
  locale: Locale;
  rendered?: unknown;
  error?: string;
}

export interface PreviewResult {
  view: ReturnType<typeof toNoticeView>;
  renders: PreviewRender[];
}

export interface DeliveryPage {
  items: DeliveryRow[];
  nextCursor: number | null;
}

export interface NoticePage {
  items: Notice[];
  nextCursor: string | null;
}
