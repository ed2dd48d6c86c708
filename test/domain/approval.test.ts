import { describe, expect, it } from 'vitest';
import {
  type ApprovalStepFact,
  approvalRefusal,
  approvalState,
  approversOf,
  currentRound,
  type NoticeFacts,
  ownerOrApproverRefusal,
  proposalRefusal,
  returnComment,
  revisionNeedsApproval,
  submission,
} from '../../src/domain/approval.ts';
import { Refusal } from '../../src/domain/refusal.ts';
import type { StaffIdentity } from '../../src/domain/staff.ts';

const author: StaffIdentity = { tokenId: 1, name: 'author', role: 'author' };
const alice: StaffIdentity = { tokenId: 2, name: 'alice', role: 'approver' };
const bob: StaffIdentity = { tokenId: 3, name: 'bob', role: 'approver' };
const one = { emergency: 1 };
const two = { emergency: 2 };
const at = new Date('2026-09-14T10:00:00Z');

const step = (decision: ApprovalStepFact['decision'], who: StaffIdentity): ApprovalStepFact => ({
  decision,
  actor: who.name,
  actorTokenId: who.tokenId,
  comment: null,
  at,
});
const pending: NoticeFacts = { id: 'n-1', status: 'pending_approval', severity: 'emergency', createdBy: 'author' };

describe('submission', () => {
  it('refuses an author posting an emergency without asking for approval', () => {
    expect(() => submission('emergency', false, author, one)).toThrow(
      expect.objectContaining({ kind: 'forbidden', code: 'forbidden' }),
    );
  });
  it('holds what is submitted for approval, and counts an approver’s own emergency as one approval', () => {
    expect(submission('emergency', true, author, one)).toEqual({ pending: true, selfApproved: false });
    expect(submission('info', true, author, one)).toEqual({ pending: true, selfApproved: false });
    expect(submission('info', false, author, one)).toEqual({ pending: false, selfApproved: false });
    expect(submission('emergency', false, alice, one)).toEqual({ pending: false, selfApproved: true });
    expect(submission('emergency', false, alice, two)).toEqual({ pending: true, selfApproved: true });
  });
});

describe('approvalRefusal', () => {
  it('needs an approver, a notice waiting for approval, and someone other than its author', () => {
    expect(approvalRefusal(pending, [step('submitted', author)], author)?.kind).toBe('forbidden');
    expect(approvalRefusal({ ...pending, status: 'queued' }, [], alice)?.code).toBe('not_pending_approval');
    expect(approvalRefusal({ ...pending, createdBy: 'alice' }, [], alice)?.code).toBe('own_submission');
    expect(approvalRefusal(pending, [step('submitted', author)], alice)).toBeUndefined();
  });
  it('treats two tokens of one name as one person', () => {
    const other = { ...alice, tokenId: 99 };
    const steps = [step('submitted', author), step('approved', alice)];
    expect(approvalRefusal(pending, steps, other)?.code).toBe('already_approved');
    expect(approvalRefusal(pending, steps, bob)).toBeUndefined();
  });
  it('judges a proposal by its own round: the author of revision 1 may approve a colleague’s correction', () => {
    const byAlice = { ...pending, status: 'dispatched' as const, createdBy: 'alice' };
    const proposal = { revision: 2, proposedBy: 'bob', proposedByTokenId: 3 };
    const steps = [step('submitted', bob)];
    expect(approvalRefusal(byAlice, steps, alice, proposal)).toBeUndefined();
    expect(approvalRefusal(byAlice, steps, bob, proposal)?.code).toBe('own_submission');
  });
});

describe('rounds and counts', () => {
  it('counts distinct approvers since the latest submission only', () => {
    const steps = [
      step('submitted', author),
      step('approved', alice),
      step('returned', bob),
      step('submitted', author),
      step('approved', bob),
      step('approved', { ...bob, tokenId: 77 }),
    ];
    expect(currentRound(steps)).toHaveLength(2);
    expect(approversOf(steps)).toBe(1);
  });
  it('requires nothing of a routine notice that went out unreviewed, and the policy of an emergency', () => {
    const routine: NoticeFacts = { id: 'n-2', status: 'dispatched', severity: 'info', createdBy: 'author' };
    expect(approvalState(routine, [], null, two).required).toBe(0);
    expect(approvalState({ ...routine, status: 'pending_approval' }, [], null, two).required).toBe(1);
    expect(approvalState(pending, [], null, two).required).toBe(2);
    const proposal = { revision: 2, proposedBy: 'author', proposedByTokenId: 1 };
    expect(approvalState(routine, [], proposal, two).required).toBe(2);
  });
});

describe('revisionNeedsApproval', () => {
  it('holds any change touching an emergency unless one approver is enough and posts it', () => {
    const routine = { severity: 'info' as const };
    const emergency = { severity: 'emergency' as const };
    expect(revisionNeedsApproval(routine, routine, author, undefined, one)).toBe(false);
    expect(revisionNeedsApproval(routine, emergency, author, undefined, one)).toBe(true);
    expect(revisionNeedsApproval(emergency, routine, alice, undefined, one)).toBe(false);
    expect(revisionNeedsApproval(emergency, routine, alice, undefined, two)).toBe(true);
  });
  it('sends every change after a waiting proposal the same way', () => {
    const waiting = { revision: 2, proposedBy: 'author', proposedByTokenId: 1 };
    expect(revisionNeedsApproval({ severity: 'info' }, { severity: 'info' }, alice, waiting, one)).toBe(true);
  });
});

describe('who may replace, withdraw, resubmit and return', () => {
  const waiting = { revision: 2, proposedBy: 'author', proposedByTokenId: 1 };
  it('lets only the proposer or an approver replace a proposal', () => {
    const colleague = { tokenId: 5, name: 'colleague', role: 'author' as const };
    expect(proposalRefusal('n-1', waiting, colleague)?.code).toBe('proposal_pending');
    expect(proposalRefusal('n-1', waiting, author)).toBeUndefined();
    expect(proposalRefusal('n-1', waiting, alice)).toBeUndefined();
    expect(proposalRefusal('n-1', undefined, colleague)).toBeUndefined();
  });
  it('lets only the author or an approver withdraw or resubmit', () => {
    const colleague = { tokenId: 5, name: 'colleague', role: 'author' as const };
    const what = { ja: '取り下げ', en: 'withdraw' };
    expect(ownerOrApproverRefusal(pending, [], colleague, what)).toMatchObject({
      kind: 'forbidden',
      code: 'not_your_notice',
    });
    expect(ownerOrApproverRefusal(pending, [], author, what)).toBeUndefined();
    expect(ownerOrApproverRefusal(pending, [step('submitted', colleague)], colleague, what)).toBeUndefined();
    expect(ownerOrApproverRefusal(pending, [], bob, what)).toBeUndefined();
  });
  it('needs a comment to return a notice', () => {
    expect(returnComment('  fix the area  ')).toBe('fix the area');
    let thrown: unknown;
    try {
      returnComment('   ');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Refusal);
    expect(thrown).toMatchObject({ kind: 'invalid', code: 'comment_required', fields: { comment: expect.any(Array) } });
  });
});
