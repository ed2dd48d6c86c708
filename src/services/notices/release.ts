import { approvalsNeeded, proposalRefusal } from '../../domain/approval.ts';
import { awaitsSchedule } from '../../domain/notice-status.ts';
import type { Revision, RevisionInput } from '../../domain/revision.ts';
import { revisionContent } from '../../domain/revision-input.ts';
import { hasRole, type StaffIdentity } from '../../domain/staff.ts';
import type { Notice } from '../../store/notices.ts';
import type { ProposedRevision } from '../../store/proposed-revisions.ts';
import type { NoticeContext } from './context.ts';
import type { Proposed, Released } from './types.ts';

/** How a revision leaves the service: released to the queue, or held as a proposal for approvers. */
export function createRelease(ctx: NoticeContext) {
  const { store, queues, audit, enqueue, requireNotice, policy } = ctx;

  /**
   * Lets an approved notice go: queued now, or scheduled when its time is still ahead (a
   * schedule that passed while it waited means now); CAP sent becomes the time it goes out.
   * Undefined when another request released, returned or withdrew it first.
   */
  async function release(notice: Notice, current: Revision, now: Date): Promise<Notice | undefined> {
    const scheduledAt = current.scheduledAt && current.scheduledAt > now ? current.scheduledAt : null;
    const rewritten = await store.notices.rewriteUnsent(
      notice.id,
      { ...revisionContent(current), scheduledAt },
      { from: ['pending_approval'], to: scheduledAt ? 'scheduled' : 'queued' },
      now,
    );
    if (!rewritten) return undefined;
    await enqueue(rewritten.revision, now);
    return rewritten.notice;
  }

  async function applyCorrection(noticeId: string, next: RevisionInput, author: string, now: Date): Promise<Revision> {
    const revision = await store.notices.addRevision(noticeId, next, author, now);
    await enqueue(revision, now);
    return revision;
  }

  /** Stores the cancellation and sends it, unless the notice was still waiting for its schedule. */
  async function applyCancel(
    notice: Notice,
    current: Revision,
    next: RevisionInput,
    author: string,
    now: Date,
  ): Promise<{ revision: Revision; sent: boolean }> {
    // A dispatch that started meanwhile cannot be withdrawn; then the cancellation is sent as usual.
    const silent =
      awaitsSchedule(notice, current, now) && (await queues.cancelScheduledDispatch(notice.id, current.revision));
    const revision = await store.notices.addRevision(notice.id, next, author, now);
    if (!silent) await enqueue(revision, now);
    return { revision, sent: !silent };
  }

  /**
   * Sends an approved proposal as the revision it asked for, written by its proposer.
   * Undefined when another approval or a return took it first.
   */
  async function releaseProposal(
    proposal: ProposedRevision,
    actor: StaffIdentity,
    approvals: number,
    now: Date,
  ): Promise<Released | undefined> {
    if (!(await store.proposedRevisions.take(proposal.noticeId, proposal.revision))) return undefined;
    const { notice, current } = await requireNotice(proposal.noticeId);
    const base = { proposedBy: proposal.proposedBy, approvals, releasedBy: actor.name };
    let outcome: { revision: Revision; sent: boolean };
    if (proposal.input.kind === 'cancel') {
      outcome = await applyCancel(notice, current, proposal.input, proposal.proposedBy, now);
      await audit(actor, 'notice.cancel', notice.id, {
        revision: outcome.revision.revision,
        sent: outcome.sent,
        ...base,
      });
    } else {
      outcome = { revision: await applyCorrection(notice.id, proposal.input, proposal.proposedBy, now), sent: true };
      await audit(actor, 'notice.correct', notice.id, { revision: outcome.revision.revision, ...base });
    }
    return { notice: (await store.notices.get(notice.id)) ?? notice, ...outcome };
  }

  /** Holds a correction or cancellation for approval; one proposal per notice, replaced only by its proposer or an approver. */
  async function propose(
    notice: Notice,
    current: Revision,
    input: RevisionInput,
    actor: StaffIdentity,
    waiting: ProposedRevision | undefined,
    detail: Record<string, unknown>,
    now: Date,
  ): Promise<Proposed | Released> {
    const refusal = proposalRefusal(notice.id, waiting, actor);
    if (refusal) throw refusal;
    const proposal = await store.proposedRevisions.put(notice.id, current.revision + 1, input, actor, now);
    const required = approvalsNeeded('emergency', policy);
    await store.approvals.record(notice.id, 'submitted', actor, null, now);
    await audit(actor, 'notice.propose', notice.id, {
      revision: proposal.revision,
      kind: input.kind,
      severity: input.severity,
      required,
      replaced: waiting ? waiting.proposedBy : null,
      ...detail,
    });
    if (hasRole(actor, 'approver')) {
      // As with a first emergency, an approver's own proposal counts as one approval; when
      // that is all it needs (an approver replacing an author's proposal), it goes out now.
      await store.approvals.record(notice.id, 'approved', actor, null, now);
      const complete = required <= 1;
      await audit(actor, 'notice.approve', notice.id, { approvals: 1, required, released: complete, comment: null });
      const released = complete ? await releaseProposal(proposal, actor, 1, now) : undefined;
      if (released) return released;
    }
    const steps = await store.approvals.list(notice.id);
    return { notice, proposal, approval: ctx.approvalState(notice, steps, proposal) };
  }

  return { release, applyCorrection, applyCancel, releaseProposal, propose };
}

export type Release = ReturnType<typeof createRelease>;
