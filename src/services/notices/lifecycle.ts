import { approvalsNeeded, ownerOrApproverRefusal, revisionNeedsApproval, submission } from '../../domain/approval.ts';
import { newId } from '../../domain/ids.ts';
import type { ChannelId } from '../../domain/notice.ts';
import {
  isUnapproved,
  refuseCancel,
  refuseCorrection,
  refuseUnapproved,
  statusChanged,
  UNAPPROVED,
} from '../../domain/notice-status.ts';
import { Refusal } from '../../domain/refusal.ts';
import {
  type CorrectionInput,
  cancelRevision,
  changedFields,
  checkReferences,
  checkTimes,
  correctionRevision,
  firstRevision,
  type NoticeInput,
  requireChanges,
} from '../../domain/revision-input.ts';
import { severityToPriority } from '../../domain/severity.ts';
import type { StaffIdentity } from '../../domain/staff.ts';
import type { NoticeContext } from './context.ts';
import { canonicalHash } from './input.ts';
import type { Release } from './release.ts';
import type { PostResult, Proposed, Released, RetryResult } from './types.ts';

/** A notice's life after it is written: posted, corrected, cancelled, its failures retried. */
export function createLifecycle(ctx: NoticeContext, release: Release) {
  const { store, queues, known, policy, audit, enqueue, ensureDispatched, requireNotice } = ctx;

  return {
    /**
     * Creates a notice and queues its dispatch. With an idempotency key (scoped to the
     * token), the same request again returns the first notice and sends nothing new;
     * the same key with a different request is refused.
     */
    async post(input: NoticeInput, actor: StaffIdentity, idempotencyKey?: string): Promise<PostResult> {
      const now = new Date();
      const { pending, selfApproved } = submission(input.severity, input.requestApproval === true, actor, policy);
      checkReferences(input, known);
      const revisionInput = firstRevision(input, known.channels, now);
      const { scheduledAt } = revisionInput;
      checkTimes(revisionInput.expiresAt, scheduledAt ?? now);

      const idempotency = idempotencyKey
        ? {
            key: `${actor.tokenId}:${idempotencyKey}`,
            hash: canonicalHash({ ...input, scheduledAt: input.scheduledAt ?? null }),
          }
        : null;

      const replay = async (): Promise<PostResult | undefined> => {
        if (!idempotency) return undefined;
        const found = await store.notices.findByIdempotencyKey(idempotency.key);
        if (!found) return undefined;
        if (found.hash !== idempotency.hash) {
          throw new Refusal('unprocessable', 'idempotency_key_reused', {
            ja: `この Idempotency-Key は別の内容の通知 ${found.notice.id} に使われています。新しい通知には新しいキーを使ってください`,
            en: `This Idempotency-Key was used for a different request (notice ${found.notice.id}); use a new key for a new notice`,
          });
        }
        const revision = await store.notices.getRevision(found.notice.id, 1);
        if (!revision) throw new Error(`notice ${found.notice.id} has no revision 1`);
        // The first request may have stored the notice and then failed to queue it: finish that now.
        const current = await store.notices.getRevision(found.notice.id, found.notice.currentRevision);
        if (current) await ensureDispatched(found.notice, current, now);
        return { notice: found.notice, revision, replayed: true };
      };

      const earlier = await replay();
      if (earlier) return earlier;

      const id = newId('n', now.getTime());
      let created: Awaited<ReturnType<typeof store.notices.create>>;
      try {
        created = await store.notices.create(
          id,
          revisionInput,
          actor.name,
          idempotency,
          now,
          pending ? 'pending_approval' : undefined,
        );
      } catch (err) {
        // Two requests with one key at once: the unique key lets one insert win; the other replays it
        // (or is refused if its body differs).
        const raced = idempotency ? await replay() : undefined;
        if (raced) return raced;
        throw err;
      }
      const summary = {
        revision: 1,
        severity: revisionInput.severity,
        mode: revisionInput.mode,
        channels: revisionInput.channels,
        scheduledAt: scheduledAt?.toISOString() ?? null,
        title: revisionInput.title,
      };
      const result = { notice: created.notice, revision: created.revision, replayed: false };
      if (pending) {
        const required = approvalsNeeded(revisionInput.severity, policy);
        await store.approvals.record(id, 'submitted', actor, null, now);
        await audit(actor, 'notice.submit', id, { ...summary, required });
        if (selfApproved) {
          await store.approvals.record(id, 'approved', actor, null, now);
          await audit(actor, 'notice.approve', id, { approvals: 1, required, released: false, comment: null });
        }
        return result;
      }
      if (selfApproved) await store.approvals.record(id, 'approved', actor, null, now);
      await audit(actor, 'notice.create', id, summary);
      await enqueue(created.revision, now);
      return result;
    },

    /**
     * A correction: a new revision with the changed fields over the current one, sent again.
     * One that touches an emergency is held for approval instead (see revisionNeedsApproval).
     */
    async correct(noticeId: string, changes: CorrectionInput, actor: StaffIdentity): Promise<Released | Proposed> {
      const now = new Date();
      const { notice, current } = await requireNotice(noticeId);
      refuseCorrection(notice, current, now);
      const changed = changedFields(changes);
      requireChanges(changed);
      const next = correctionRevision(current, changes);
      checkReferences(changes, known);
      checkTimes(next.expiresAt, now);
      const waiting = await store.proposedRevisions.get(noticeId);
      if (revisionNeedsApproval(current, next, actor, waiting, policy)) {
        return release.propose(notice, current, next, actor, waiting, { changed }, now);
      }
      const revision = await release.applyCorrection(noticeId, next, actor.name, now);
      await audit(actor, 'notice.correct', noticeId, { revision: revision.revision, changed });
      const updated = await store.notices.get(noticeId);
      return { notice: updated ?? notice, revision, sent: true };
    },

    /**
     * Withdraws a notice: a cancel revision sent to the same audience. A notice still
     * waiting for its scheduled time was never seen by anyone, so it is withdrawn silently.
     * The cancellation of an emergency is held for approval, as its issue was.
     */
    async cancel(noticeId: string, reason: string | undefined, actor: StaffIdentity): Promise<Released | Proposed> {
      const now = new Date();
      const { notice, current } = await requireNotice(noticeId);
      refuseCancel(notice);
      if (isUnapproved(notice.status)) {
        // Nobody has seen it: withdraw it with no revision, so nothing about it is ever published.
        // Its author may do so even for an emergency, since nothing is sent; a colleague may not.
        const refusal = ownerOrApproverRefusal(notice, await store.approvals.list(noticeId), actor, {
          ja: '取り下げ',
          en: 'withdraw',
        });
        if (refusal) throw refusal;
        if (!(await store.notices.moveStatus(noticeId, UNAPPROVED, 'cancelled', now))) throw statusChanged(noticeId);
        await audit(actor, 'notice.cancel', noticeId, {
          revision: current.revision,
          sent: false,
          reason: reason ?? null,
          withdrawn: notice.status,
        });
        const updated = await store.notices.get(noticeId);
        return { notice: updated ?? notice, revision: current, sent: false };
      }
      const next = cancelRevision(current, reason, now);
      const waiting = await store.proposedRevisions.get(noticeId);
      if (revisionNeedsApproval(current, next, actor, waiting, policy)) {
        return release.propose(notice, current, next, actor, waiting, { reason: reason ?? null }, now);
      }
      const { revision, sent } = await release.applyCancel(notice, current, next, actor.name, now);
      await audit(actor, 'notice.cancel', noticeId, { revision: revision.revision, sent, reason: reason ?? null });
      const updated = await store.notices.get(noticeId);
      return { notice: updated ?? notice, revision, sent };
    },

    /**
     * Puts the current revision's failed deliveries back in the queue, as new jobs (a new
     * round, so the finished jobs' ids do not swallow them); also restarts a dispatch that
     * never reached the queue or failed there.
     */
    async retry(noticeId: string, actor: StaffIdentity): Promise<RetryResult> {
      const now = new Date();
      const { notice, current } = await requireNotice(noticeId);
      refuseUnapproved(notice, { ja: '再送', en: 'retried' });
      const dispatchRestarted = await ensureDispatched(notice, current, now);
      const { rows, batches } = await store.deliveries.requeueFailed(noticeId, current.revision, now);
      const byChannel = new Map<ChannelId, number[]>();
      for (const b of batches) byChannel.set(b.channel, [...(byChannel.get(b.channel) ?? []), b.batch]);
      const round = Date.now();
      for (const [channel, list] of byChannel) {
        await queues.enqueueDeliver(
          channel,
          list,
          { noticeId, revision: current.revision },
          { priority: severityToPriority(current.severity), round },
        );
      }
      await audit(actor, 'notice.retry', noticeId, {
        revision: current.revision,
        rows,
        batches: batches.length,
        dispatchRestarted,
      });
      return { revision: current.revision, rows, batches: batches.length, dispatchRestarted };
    },
  };
}
