import {
  type ApprovalCheck,
  type ApprovalState,
  approvalRefusal,
  approvalsNeeded,
  approversOf,
  checkApproval,
  notPending,
  ownerOrApproverRefusal,
  refuseExpiredApproval,
  returnComment,
} from '../../domain/approval.ts';
import { notReturned } from '../../domain/notice-status.ts';
import { needsRole } from '../../domain/refusal.ts';
import type { Revision } from '../../domain/revision.ts';
import {
  changedFields,
  checkReferences,
  checkTimes,
  type ResubmitInput,
  resubmittedRevision,
} from '../../domain/revision-input.ts';
import { hasRole, type StaffIdentity } from '../../domain/staff.ts';
import type { NoticeContext } from './context.ts';
import type { Release } from './release.ts';
import type { ApprovalResult } from './types.ts';

/** The four-eyes steps: approve, return with a comment, resubmit; the rules are in domain/approval.ts. */
export function createApprovals(ctx: NoticeContext, release: Release) {
  const { store, known, policy, audit, requireNotice } = ctx;

  return {
    /** Where a notice stands in its approval: how many approvals it needs, has, and every step. */
    async approvalOf(noticeId: string): Promise<ApprovalState> {
      const { notice } = await requireNotice(noticeId);
      const proposal = await store.proposedRevisions.get(noticeId);
      return ctx.approvalState(notice, await store.approvals.list(noticeId), proposal);
    },

    /** Whether this person may approve the notice now (for showing or hiding an approve button). */
    async checkApproval(noticeId: string, actor: StaffIdentity): Promise<ApprovalCheck> {
      const { notice } = await requireNotice(noticeId);
      const proposal = await store.proposedRevisions.get(noticeId);
      return checkApproval(approvalRefusal(notice, await store.approvals.list(noticeId), actor, proposal));
    },

    /**
     * An approver's approval of a notice waiting for it. When the distinct approvals since its
     * latest submission reach what it needs, it is queued (or scheduled) and dispatched as post() does.
     */
    async approve(noticeId: string, comment: string | undefined, actor: StaffIdentity): Promise<ApprovalResult> {
      const now = new Date();
      const { notice, current } = await requireNotice(noticeId);
      const steps = await store.approvals.list(noticeId);
      const proposal = (await store.proposedRevisions.get(noticeId)) ?? null;
      const refusal = approvalRefusal(notice, steps, actor, proposal);
      if (refusal) throw refusal;
      // A cancellation may be approved after the notice expired (it lifts nothing then, but says so).
      const expiresAt = proposal
        ? proposal.input.kind === 'cancel'
          ? null
          : proposal.input.expiresAt
        : current.expiresAt;
      refuseExpiredApproval(noticeId, expiresAt, now);
      const text = comment?.trim() || null;
      const all = [...steps, await store.approvals.record(noticeId, 'approved', actor, text, now)];
      const required = approvalsNeeded(proposal ? 'emergency' : current.severity, policy);
      const received = approversOf(all);
      const complete = received >= required;
      await audit(actor, 'notice.approve', noticeId, {
        approvals: received,
        required,
        released: complete,
        comment: text,
        ...(proposal ? { revision: proposal.revision, kind: proposal.input.kind } : {}),
      });
      const released = complete
        ? proposal
          ? (await release.releaseProposal(proposal, actor, received, now))?.notice
          : await release.release(notice, current, now)
        : undefined;
      const updated = released ?? (await store.notices.get(noticeId)) ?? notice;
      const left = released ? null : proposal;
      return { notice: updated, approval: ctx.approvalState(updated, all, left), released: released !== undefined };
    },

    /** Sends a notice back to its author with what to change; nothing is sent. */
    async returnForChanges(
      noticeId: string,
      comment: string | undefined,
      actor: StaffIdentity,
    ): Promise<ApprovalResult> {
      const now = new Date();
      if (!hasRole(actor, 'approver')) throw needsRole('approver');
      const { notice } = await requireNotice(noticeId);
      const text = returnComment(comment);
      const proposal = await store.proposedRevisions.get(noticeId);
      if (proposal) {
        // A returned proposal is dropped: the notice stays as it went out, and its author
        // writes the correction again from the comment.
        if (!(await store.proposedRevisions.take(noticeId, proposal.revision))) throw notPending(notice);
        await store.approvals.record(noticeId, 'returned', actor, text, now);
        await audit(actor, 'notice.return', noticeId, {
          comment: text,
          revision: proposal.revision,
          kind: proposal.input.kind,
        });
        return {
          notice,
          approval: ctx.approvalState(notice, await store.approvals.list(noticeId)),
          released: false,
        };
      }
      if (notice.status !== 'pending_approval') throw notPending(notice);
      if (!(await store.notices.moveStatus(noticeId, ['pending_approval'], 'returned', now))) {
        throw notPending((await store.notices.get(noticeId)) ?? notice);
      }
      await store.approvals.record(noticeId, 'returned', actor, text, now);
      await audit(actor, 'notice.return', noticeId, { comment: text });
      const updated = (await store.notices.get(noticeId)) ?? notice;
      return {
        notice: updated,
        approval: ctx.approvalState(updated, await store.approvals.list(noticeId)),
        released: false,
      };
    },

    /**
     * A returned notice, changed and submitted again: revision 1 is rewritten in place (it was
     * never sent) and the approvals start over.
     */
    async resubmit(
      noticeId: string,
      changes: ResubmitInput,
      actor: StaffIdentity,
      comment?: string,
    ): Promise<ApprovalResult & { revision: Revision }> {
      const now = new Date();
      const { notice, current } = await requireNotice(noticeId);
      if (notice.status !== 'returned') throw notReturned(notice);
      const refusal = ownerOrApproverRefusal(notice, await store.approvals.list(noticeId), actor, {
        ja: '再申請',
        en: 'resubmit',
      });
      if (refusal) throw refusal;
      checkReferences(changes, known);
      const next = resubmittedRevision(current, changes, known.channels, now);
      checkTimes(next.expiresAt, next.scheduledAt ?? now);
      const rewritten = await store.notices.rewriteUnsent(
        noticeId,
        next,
        { from: ['returned'], to: 'pending_approval' },
        now,
      );
      if (!rewritten) throw notReturned((await store.notices.get(noticeId)) ?? notice);
      const text = comment?.trim() || null;
      await store.approvals.record(noticeId, 'submitted', actor, text, now);
      await audit(actor, 'notice.resubmit', noticeId, {
        changed: changedFields(changes),
        required: approvalsNeeded(next.severity, policy),
        comment: text,
      });
      return {
        notice: rewritten.notice,
        revision: rewritten.revision,
        approval: ctx.approvalState(rewritten.notice, await store.approvals.list(noticeId)),
        released: false,
      };
    },
  };
}
