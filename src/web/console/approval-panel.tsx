import type { FC } from 'hono/jsx';
import { DECISION_WORD } from '../../domain/labels.ts';
import type { ApprovalCheck, ApprovalState, DerivedStatus } from '../../services/notices/index.ts';
import type { ProposedRevision } from '../../store/proposed-revisions.ts';
import type { ConsoleSession } from '../../store/staff-sessions.ts';
import { JstTime } from '../notice-parts.tsx';
import { CsrfField, En } from './console-layout.tsx';
import { ErrorSummary, FieldError, type FormProblems, fieldAria } from './form-errors.tsx';

/**
 * The approval part of a notice's page: what an approver can do with a notice waiting for
 * them, what its author sees meanwhile, the comment of a return, and every step so far.
 */

export interface ApprovalFormState {
  /** Reasons the last post was refused, keyed by control id (approve-comment, return-comment). */
  errors: FormProblems;
  /** What was typed, given back after a refused post. */
  approveComment?: string;
  returnComment?: string;
}

export interface ApprovalPanelProps {
  noticeId: string;
  status: DerivedStatus;
  approval: ApprovalState;
  /** A correction or cancellation of this (sent) notice, waiting for approval. */
  proposal?: ProposedRevision | null | undefined;
  /** Whether the signed-in person may approve now (undefined: not an approver, or not pending). */
  check: ApprovalCheck | undefined;
  session: ConsoleSession;
  form?: ApprovalFormState | undefined;
}

export const ApprovalSteps: FC<{ approval: ApprovalState }> = ({ approval }) =>
  approval.approvals.length === 0 ? null : (
    <section aria-labelledby="approval-steps-title">
      <h2 id="approval-steps-title">
        承認の経過 <En>Approval history</En>
      </h2>
      <ol class="steps">
        {approval.approvals.map((step) => (
          <li>
            <strong>{DECISION_WORD[step.decision].ja}</strong> <En>{DECISION_WORD[step.decision].en}</En> — {step.actor}
            、<JstTime at={step.at} />
            {step.comment ? (
              <blockquote>
                <p class="comment">{step.comment}</p>
              </blockquote>
            ) : null}
          </li>
        ))}
      </ol>
    </section>
  );

const ApproveForms: FC<ApprovalPanelProps> = ({ noticeId, approval, session, form }) => {
  const errors = form?.errors ?? {};
  const remaining = Math.max(1, approval.required - approval.received);
  const base = `/console/notices/${encodeURIComponent(noticeId)}`;
  return (
    <div class="approval-forms">
      <ErrorSummary errors={errors} level={3} />
      <form method="post" action={`${base}/approve`} aria-labelledby="approve-title">
        <CsrfField session={session} />
        <h3 id="approve-title">
          承認する <En>Approve</En>
        </h3>
        {remaining > 1 ? (
          <p class="hint">
            この通知の配信には、あなたを含めてあと {remaining} 人の承認が必要です。{' '}
            <En>It needs {remaining} more approvals, yours included, before it is sent.</En>
          </p>
        ) : (
          <p class="hint">
            承認すると、すぐに（予約があればその時刻に）配信されます。{' '}
            <En>Approving sends it now, or at its scheduled time.</En>
          </p>
        )}
        <label for="approve-comment">
          コメント（任意） <En>Comment (optional)</En>
        </label>
        <textarea
          id="approve-comment"
          name="comment"
          rows={3}
          maxlength={2000}
          {...fieldAria(errors['approve-comment'], { error: 'approve-comment-error' })}
        >
          {form?.approveComment ?? ''}
        </textarea>
        <FieldError id="approve-comment-error" reasons={errors['approve-comment']} />
        <div class="actions">
          <button type="submit">{remaining > 1 ? '承認する' : '承認して配信'}</button>
        </div>
      </form>
      <form method="post" action={`${base}/return`} aria-labelledby="return-title">
        <CsrfField session={session} />
        <h3 id="return-title">
          差し戻す <En>Return for changes</En>
        </h3>
        <label for="return-comment">
          作成者へのコメント（必須） <En>Comment to the author (required)</En>
        </label>
        <textarea
          id="return-comment"
          name="comment"
          rows={3}
          maxlength={2000}
          required
          {...fieldAria(errors['return-comment'], { error: 'return-comment-error' }, 'return-comment-hint')}
        >
          {form?.returnComment ?? ''}
        </textarea>
        <p class="hint" id="return-comment-hint">
          何をどう直せばよいかを書いてください。 <En>Say what the author should change.</En>
        </p>
        <FieldError id="return-comment-error" reasons={errors['return-comment']} />
        <div class="actions">
          <button type="submit" class="secondary">
            差し戻す
          </button>
        </div>
      </form>
    </div>
  );
};

/** The approver's forms, the reason this person may not approve, or what the author waits for. */
const ReviewPart: FC<ApprovalPanelProps & { waiting: { ja: string; en: string } }> = (props) => {
  const { check, waiting } = props;
  if (check?.ok) return <ApproveForms {...props} />;
  return (
    <p>
      {check ? check.message.ja : waiting.ja} <En>{check ? check.message.en : waiting.en}</En>
    </p>
  );
};

/** What a proposal would send, shown in full so approvers judge the words residents will read. */
const ProposalPanel: FC<ApprovalPanelProps & { proposal: ProposedRevision }> = (props) => {
  const { proposal, approval } = props;
  const cancel = proposal.input.kind === 'cancel';
  return (
    <section class="flash warn" aria-labelledby="approval-title">
      <h2 id="approval-title">
        {cancel ? '取消' : '訂正'}（第{proposal.revision}版）の承認待ち{' '}
        <En>
          {cancel ? 'Cancellation' : 'Correction'} (revision {proposal.revision}) awaiting approval
        </En>
      </h2>
      <p>
        {proposal.proposedBy} さんが <JstTime at={proposal.proposedAt} />{' '}
        に申請しました。承認されるまで配信されません（承認 {approval.received} / 必要 {approval.required}）。{' '}
        <En>
          Nothing is sent until it is approved ({approval.received} of {approval.required} approvals).
        </En>
      </p>
      <dl>
        <dt>件名 / Title</dt>
        <dd>{proposal.input.title}</dd>
        <dt>{cancel ? '取消の理由 / Reason' : '本文 / Body'}</dt>
        <dd>
          <p class="comment">{proposal.input.body || '（なし / none）'}</p>
        </dd>
      </dl>
      <ReviewPart
        {...props}
        waiting={{
          ja: '承認者(approver)が確認しています。差し戻されると、この画面の「承認の経過」にコメントが表示されます。',
          en: 'An approver will review it; if returned, their comment appears under Approval history.',
        }}
      />
    </section>
  );
};

export const ApprovalPanel: FC<ApprovalPanelProps> = (props) => {
  const { noticeId, status, approval, proposal } = props;
  if (proposal) return <ProposalPanel {...props} proposal={proposal} />;
  if (status === 'returned') {
    const last = approval.approvals.findLast((s) => s.decision === 'returned');
    return (
      <section class="flash warn" aria-labelledby="approval-title">
        <h2 id="approval-title">
          差し戻されています <En>Returned for changes</En>
        </h2>
        {last ? (
          <>
            <p>
              {last.actor} さんが <JstTime at={last.at} /> に差し戻しました。コメント:
            </p>
            <blockquote>
              <p class="comment">{last.comment ?? ''}</p>
            </blockquote>
          </>
        ) : null}
        <p>
          <a class="button" href={`/console/notices/${encodeURIComponent(noticeId)}/resubmit`}>
            内容を直して再申請する <span lang="en">/ Edit and resubmit</span>
          </a>
        </p>
      </section>
    );
  }
  if (status !== 'pending_approval') return null;
  return (
    <section class="flash warn" aria-labelledby="approval-title">
      <h2 id="approval-title">
        承認待ち <En>Awaiting approval</En>
      </h2>
      <p>
        この通知は承認されるまで配信されません（承認 {approval.received} / 必要 {approval.required}）。{' '}
        <En>
          Nothing is sent until it is approved ({approval.received} of {approval.required} approvals).
        </En>
      </p>
      <ReviewPart
        {...props}
        waiting={{
          ja: '承認者(approver)が確認しています。承認されると配信され、差し戻されるとこの画面にコメントが表示されます。',
          en: 'An approver will review it: once approved it is sent; if returned, their comment appears here.',
        }}
      />
    </section>
  );
};
