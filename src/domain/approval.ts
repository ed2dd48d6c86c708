import type { Bilingual } from './bilingual.ts';
import type { Severity } from './notice.ts';
import { UNAPPROVED_STATUSES } from './public-revisions.ts';
import { needsRole, Refusal } from './refusal.ts';
import { hasRole, type StaffIdentity } from './staff.ts';
import type { ApprovalDecision, NoticeStatus } from './statuses.ts';

/**
 * The four-eyes rules: who may submit, approve, withdraw and resubmit a notice, and when a
 * revision has to wait for approvers. Pure: the service reads the facts from the store and
 * asks these.
 */

/** One step of a notice's approval, as the store records it. */
export interface ApprovalStepFact {
  decision: ApprovalDecision;
  actor: string;
  actorTokenId: number;
  comment: string | null;
  at: Date;
}

/** What the rules need to know of a notice. */
export interface NoticeFacts {
  id: string;
  status: NoticeStatus;
  severity: Severity;
  createdBy: string;
}

/** What the rules need to know of a correction or cancellation held for approval. */
export interface ProposalFacts {
  revision: number;
  proposedBy: string;
  proposedByTokenId: number;
}

/** Approvals an emergency needs (HIBIKI_EMERGENCY_APPROVALS); anything else under review needs one. */
export interface ApprovalPolicy {
  emergency: number;
}

export interface ApprovalStepView {
  decision: ApprovalDecision;
  actor: string;
  comment: string | null;
  at: Date;
}

export interface ApprovalState {
  /**
   * Approvals the notice needs before it is sent: the policy's number for an emergency, 1 for
   * anything else submitted for approval, 0 for a notice that went out without review.
   */
  required: number;
  /** Distinct approvers since the latest submission (the only ones that count). */
  received: number;
  /** Every step, oldest first. */
  approvals: ApprovalStepView[];
}

/** Whether someone may approve a notice now, and if not the refusal approve() would give. */
export type ApprovalCheck = { ok: true } | { ok: false; code: string; message: Bilingual };

const UNAPPROVED: readonly NoticeStatus[] = UNAPPROVED_STATUSES;

/** Two tokens of one name are one person: a four-eyes rule must not be met by a second token. */
export const samePerson = (step: Pick<ApprovalStepFact, 'actor' | 'actorTokenId'>, actor: StaffIdentity): boolean =>
  step.actorTokenId === actor.tokenId || step.actor === actor.name;

/** Who asked for the current round of approval: the one who may not approve it, and its owner. */
export const lastSubmission = <S extends ApprovalStepFact>(steps: S[]): S | undefined =>
  steps.findLast((s) => s.decision === 'submitted');

/** Only steps after the latest submission count: a resubmitted notice is approved afresh. */
export function currentRound<S extends ApprovalStepFact>(steps: S[]): S[] {
  const last = steps.findLastIndex((s) => s.decision === 'submitted');
  return last === -1 ? steps : steps.slice(last + 1);
}

/** Distinct approvers of the current round. */
export function approversOf(steps: ApprovalStepFact[]): number {
  const seen: ApprovalStepFact[] = [];
  for (const s of currentRound(steps)) {
    if (s.decision !== 'approved') continue;
    if (!seen.some((o) => o.actorTokenId === s.actorTokenId || o.actor === s.actor)) seen.push(s);
  }
  return seen.length;
}

/** Approvals a notice of this severity needs before it goes out, once it is under review. */
export const approvalsNeeded = (severity: Severity, policy: ApprovalPolicy): number =>
  severity === 'emergency' ? policy.emergency : 1;

export function approvalState(
  notice: NoticeFacts,
  steps: ApprovalStepFact[],
  proposal: ProposalFacts | null | undefined,
  policy: ApprovalPolicy,
): ApprovalState {
  const reviewed = steps.length > 0 || UNAPPROVED.includes(notice.status);
  return {
    // A proposal always touches an emergency, so it needs what an emergency needs.
    required: proposal
      ? approvalsNeeded('emergency', policy)
      : reviewed || notice.severity === 'emergency'
        ? approvalsNeeded(notice.severity, policy)
        : 0,
    received: approversOf(steps),
    approvals: steps.map((s) => ({ decision: s.decision, actor: s.actor, comment: s.comment, at: s.at })),
  };
}

export function notPending(notice: Pick<NoticeFacts, 'id' | 'status'>): Refusal {
  return new Refusal('conflict', 'not_pending_approval', {
    ja: `通知 ${notice.id} は承認待ちではありません（現在: ${notice.status}）`,
    en: `Notice ${notice.id} is not waiting for approval (status: ${notice.status})`,
  });
}

/** Why this person may not approve this notice now, if they may not; the one place the rules live. */
export function approvalRefusal(
  notice: NoticeFacts,
  steps: ApprovalStepFact[],
  actor: StaffIdentity,
  proposal?: ProposalFacts | null,
): Refusal | undefined {
  if (!hasRole(actor, 'approver')) return needsRole('approver');
  if (!proposal && notice.status !== 'pending_approval') return notPending(notice);
  // A notice's author never approves it, in any round; a proposal is judged by its own round
  // (whoever wrote revision 1 may approve a colleague's correction of it).
  const submitter = proposal ? lastSubmission(steps) : undefined;
  const submitted = proposal
    ? submitter !== undefined && samePerson(submitter, actor)
    : steps.some((s) => s.decision === 'submitted' && samePerson(s, actor)) || notice.createdBy === actor.name;
  if (submitted) {
    return new Refusal('forbidden', 'own_submission', {
      ja: `通知 ${notice.id} はご自身が申請したものなので承認できません。別の承認者(approver)に依頼してください`,
      en: `You submitted notice ${notice.id}, so you cannot approve it; ask another approver`,
    });
  }
  if (currentRound(steps).some((s) => s.decision === 'approved' && samePerson(s, actor))) {
    return new Refusal('forbidden', 'already_approved', {
      ja: `通知 ${notice.id} はすでに承認済みです。配信にはほかの承認者(approver)の承認が必要です`,
      en: `You have already approved notice ${notice.id}; it needs another approver's approval`,
    });
  }
  return undefined;
}

export function checkApproval(refusal: Refusal | undefined): ApprovalCheck {
  return refusal ? { ok: false, code: refusal.code, message: refusal.text } : { ok: true };
}

const EMERGENCY_NEEDS_APPROVAL: Bilingual = {
  ja: '作成者(author)が緊急の通知を出すには承認が必要です。requestApproval: true を付けて承認を申請してください（承認者(approver)のトークンならそのまま配信できます）',
  en: 'An emergency notice from an author needs approval: submit it with requestApproval: true (an approver token can post it directly)',
};

/** How a new notice starts: held for approvers (pending), and whether its poster's own approval counts. */
export interface Submission {
  pending: boolean;
  /** An approver posting an emergency directly: their post counts as one approval. */
  selfApproved: boolean;
}

/**
 * Who may post what: an author's emergency must ask for approval; an approver's own
 * emergency counts as one approval, and with more required it waits for the others.
 */
export function submission(
  severity: Severity,
  requestApproval: boolean,
  actor: StaffIdentity,
  policy: ApprovalPolicy,
): Submission {
  if (severity === 'emergency' && !requestApproval && !hasRole(actor, 'approver')) {
    throw needsRole('approver', EMERGENCY_NEEDS_APPROVAL);
  }
  const selfApproved = severity === 'emergency' && !requestApproval;
  return { pending: requestApproval || (selfApproved && approvalsNeeded('emergency', policy) > 1), selfApproved };
}

/**
 * Whether a correction or cancellation must wait for approvers: any that is, or makes the
 * notice, an emergency needs what a first emergency needs, whoever posts it (an approver's
 * own counts as one of them). While one waits, every later change goes the same way, so a
 * direct correction can never slip past it or be overwritten when it is released.
 */
export function revisionNeedsApproval(
  current: { severity: Severity },
  next: { severity: Severity },
  actor: StaffIdentity,
  waiting: ProposalFacts | undefined,
  policy: ApprovalPolicy,
): boolean {
  if (waiting) return true;
  if (current.severity !== 'emergency' && next.severity !== 'emergency') return false;
  return !hasRole(actor, 'approver') || approvalsNeeded('emergency', policy) > 1;
}

const proposer = (p: ProposalFacts) => ({ actor: p.proposedBy, actorTokenId: p.proposedByTokenId });

/** One proposal per notice: it is replaced only by its proposer or an approver. */
export function proposalRefusal(
  noticeId: string,
  waiting: ProposalFacts | undefined,
  actor: StaffIdentity,
): Refusal | undefined {
  if (!waiting || samePerson(proposer(waiting), actor) || hasRole(actor, 'approver')) return undefined;
  return new Refusal('conflict', 'proposal_pending', {
    ja: `通知 ${noticeId} には ${waiting.proposedBy} さんの訂正・取消（第${waiting.revision}版）が承認待ちです。承認か差し戻しを待ってから操作してください`,
    en: `Notice ${noticeId} already has a correction or cancellation by ${waiting.proposedBy} (revision ${waiting.revision}) waiting for approval; wait until it is approved or returned`,
  });
}

/** A notice waiting for approval is its author's to withdraw or resubmit, or an approver's. */
export function ownerOrApproverRefusal(
  notice: Pick<NoticeFacts, 'id' | 'createdBy'>,
  steps: ApprovalStepFact[],
  actor: StaffIdentity,
  what: Bilingual,
): Refusal | undefined {
  if (hasRole(actor, 'approver')) return undefined;
  const own = notice.createdBy === actor.name || steps.some((s) => s.decision === 'submitted' && samePerson(s, actor));
  if (own) return undefined;
  return new Refusal('forbidden', 'not_your_notice', {
    ja: `通知 ${notice.id} は ${notice.createdBy} さんの申請です。${what.ja}できるのは申請した本人か承認者(approver)だけです`,
    en: `Notice ${notice.id} was submitted by ${notice.createdBy}; only its author or an approver may ${what.en} it`,
  });
}

/** Returning a notice says what to change: the comment is required. */
export function returnComment(comment: string | undefined): string {
  const text = comment?.trim() ?? '';
  if (text === '') {
    throw new Refusal(
      'invalid',
      'comment_required',
      { ja: '差し戻しにはコメントが必要です: comment', en: 'Returning a notice needs a comment: comment' },
      {
        fields: {
          comment: [{ ja: '作成者が何を直せばよいかを書いてください', en: 'say what the author should change' }],
        },
      },
    );
  }
  return text;
}

/** An approval lets the notice go out; not once the text it would send has expired. */
export function refuseExpiredApproval(noticeId: string, expiresAt: Date | null, now: Date): void {
  if (expiresAt && expiresAt <= now) {
    throw new Refusal('conflict', 'approval_expired', {
      ja: `通知 ${noticeId} の有効期限（${expiresAt.toISOString()}）が過ぎているため承認できません。差し戻して有効期限を直してもらってください`,
      en: `Notice ${noticeId} expired at ${expiresAt.toISOString()} and cannot be approved; return it so its expiry is changed`,
    });
  }
}
