import type { Deps } from '../../deps.ts';
import { type ApprovalPolicy, type ApprovalState, approvalState } from '../../domain/approval.ts';
import { notFound, Refusal } from '../../domain/refusal.ts';
import type { Revision } from '../../domain/revision.ts';
import type { KnownReferences } from '../../domain/revision-input.ts';
import { severityToPriority } from '../../domain/severity.ts';
import type { StaffIdentity } from '../../domain/staff.ts';
import type { ApprovalStep } from '../../store/approvals.ts';
import type { Notice } from '../../store/notices.ts';
import type { ProposedRevision } from '../../store/proposed-revisions.ts';

export type ServiceDeps = Pick<
  Deps,
  'config' | 'logger' | 'store' | 'queues' | 'channels' | 'links' | 'catalogue' | 'areas'
>;

/** What every part of the notice service shares: its deps and the few steps they all take. */
export type NoticeContext = ReturnType<typeof createNoticeContext>;

export function createNoticeContext(deps: ServiceDeps) {
  const { store, queues, channels, catalogue, config, logger } = deps;
  const known: KnownReferences = {
    topics: new Set(catalogue.topics.map((t) => t.id)),
    areas: new Set(catalogue.areas.map((a) => a.code)),
    get channels() {
      return channels.ids();
    },
  };
  const policy: ApprovalPolicy = { emergency: config.approvals.emergency };

  async function requireNotice(noticeId: string): Promise<{ notice: Notice; current: Revision }> {
    const notice = await store.notices.get(noticeId);
    const current = notice ? await store.notices.getRevision(noticeId, notice.currentRevision) : undefined;
    if (!notice || !current) throw notFound({ ja: `通知 ${noticeId} `, en: `Notice ${noticeId}` });
    return { notice, current };
  }

  /** The notice is stored already; a queue outage must not lose it, so say how to finish the job. */
  async function enqueue(revision: Revision, now: Date): Promise<void> {
    const delayMs = revision.scheduledAt ? revision.scheduledAt.getTime() - now.getTime() : 0;
    try {
      await queues.enqueueDispatch(
        { noticeId: revision.noticeId, revision: revision.revision },
        { priority: severityToPriority(revision.severity), delayMs },
      );
    } catch (err) {
      logger.error(
        { noticeId: revision.noticeId, revision: revision.revision, err: { message: (err as Error).message } },
        'could not enqueue dispatch',
      );
      throw new Refusal('unavailable', 'queue_unavailable', {
        ja: `通知 ${revision.noticeId}（第${revision.revision}版）は保存しましたが、配信キュー(Redis)に登録できませんでした。POST /v1/notices/${revision.noticeId}/retry で配信を再開してください`,
        en: `Notice ${revision.noticeId} revision ${revision.revision} was saved but could not be queued (Redis); resume it with POST /v1/notices/${revision.noticeId}/retry`,
      });
    }
  }

  /**
   * Starts a revision's dispatch again when it never reached the queue or failed there for
   * good. Job ids are deterministic, so a job that exists is left alone.
   */
  async function ensureDispatched(notice: Notice, revision: Revision, now: Date): Promise<boolean> {
    const state = await queues.retryFailedDispatch(notice.id, revision.revision);
    if (state !== 'absent') return state === 'retried';
    if (notice.status === 'queued' || notice.status === 'scheduled') {
      await enqueue(revision, now);
      return true;
    }
    return false;
  }

  return {
    deps,
    store,
    queues,
    channels,
    config,
    known,
    policy,
    requireNotice,
    enqueue,
    ensureDispatched,
    approvalState: (notice: Notice, steps: ApprovalStep[], proposal?: ProposedRevision | null): ApprovalState =>
      approvalState(notice, steps, proposal, policy),
    audit: (actor: StaffIdentity, action: string, target: string, detail?: unknown) =>
      store.audit.record(actor.name, action, target, detail),
  };
}
