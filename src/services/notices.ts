import { createHash } from 'node:crypto';
import type { Deps } from '../deps.ts';
import type { Bilingual, FieldErrors } from '../domain/bilingual.ts';
import { newId } from '../domain/ids.ts';
import type { Category, ChannelId, Locale, Mode, Severity } from '../domain/notice.ts';
import { toNoticeView } from '../domain/notice-view.ts';
import { UNAPPROVED_STATUSES } from '../domain/public-revisions.ts';
import { capIdentifierFor, type Revision } from '../domain/revision.ts';
import { severityToPriority } from '../domain/severity.ts';
import { hasRole, type StaffIdentity } from '../domain/staff.ts';
import type { ApprovalDecision, DeliveryStatus, NoticeStatus } from '../domain/statuses.ts';
import { forbidden } from '../http/auth.ts';
import { ApiError, notFoundError } from '../http/errors.ts';
import { dispatchJobId } from '../queue/names.ts';
import type { ApprovalStep } from '../store/approvals.ts';
import type { DeliveryRow } from '../store/deliveries.ts';
import type { Notice, RevisionInput } from '../store/notices.ts';
import type { ProposedRevision } from '../store/proposed-revisions.ts';
/** A new notice as staff write it; optional fields take the defaults below. */
export interface NoticeInput {
  title: string;
  body: string;
  severity: Severity;
  category: Category;
  topics?: string[];
  /** JIS X 0402 codes; empty or absent means the whole city. */
  areas?: string[];
  /** Absent: every enabled channel. */
  channels?: ChannelId[];
  mode?: Mode;
  expiresAt?: Date | null;
  scheduledAt?: Date | null;
  link?: string | null;
  /** The issuing section, shown to residents; absent: the city as a whole. */
  department?: string | null;
  /**
   * Store it for an approver to check instead of sending it (status pending_approval). The
   * way an author sends an emergency; anyone may ask for it for any notice.
   */
  requestApproval?: boolean;
}

/** What a resubmission may change in a returned notice; the rest is kept. */
export type ResubmitInput = Partial<Omit<NoticeInput, 'requestApproval'>>;

/** The fields a correction may change; the rest are carried over from the current revision. */
export type CorrectionInput = Partial<
  Pick<
    NoticeInput,
    'title' | 'body' | 'severity' | 'category' | 'topics' | 'areas' | 'channels' | 'link' | 'expiresAt' | 'department'
  >
>;

export type DerivedStatus =
  | 'pending_approval'
  | 'returned'
  | 'scheduled'
  | 'queued'
  | 'sending'
  | 'completed'
  | 'completed_with_failures'
  | 'cancelled';

export interface ApprovalStepView {
  decision: ApprovalDecision;
  actor: string;
  comment: string | null;
  at: Date;
}

export interface ApprovalState {
  /**
   * Approvals the notice needs before it is sent: EMERGENCY_APPROVALS for an emergency, 1 for
   * anything else submitted for approval, 0 for a notice that went out without review.
   */
  required: number;
  /** Distinct approvers since the latest submission (the only ones that count). */
  received: number;
  /** Every step, oldest first. */
  approvals: ApprovalStepView[];
}

/** Whether someone may approve a notice now, and if not the error approve() would give. */
export type ApprovalCheck = { ok: true } | { ok: false; code: string; message: Bilingual };

export type StatusCounts = Record<DeliveryStatus, number>;

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

/**
 * A correction or cancellation that was not sent but held for approval, because it touches
 * an emergency: nothing about it reaches anyone until approvers let it go.
 */
/** A revision that went out: stored and queued (or, for a scheduled one, withdrawn silently). */
export interface Released {
  notice: Notice;
  revision: Revision;
  /** False only for a cancellation of a notice still waiting for its schedule. */
  sent: boolean;
  proposal?: never;
}

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

export type NoticeService = ReturnType<typeof createNoticeService>;

type ServiceDeps = Pick<Deps, 'config' | 'logger' | 'store' | 'queues' | 'channels' | 'links' | 'catalogue' | 'areas'>;

const EMERGENCY_NEEDS_APPROVAL: Bilingual = {
  ja: '作成者(author)が緊急の通知を出すには承認が必要です。requestApproval: true を付けて承認を申請してください（承認者(approver)のトークンならそのまま配信できます）',
  en: 'An emergency notice from an author needs approval: submit it with requestApproval: true (an approver token can post it directly)',
};

/**
 * What staff decided in a revision, field by field (none of the store's own: number,
 * identifier, times of writing): to write it again, or to show it.
 */
export function revisionContent(r: Revision): RevisionInput {
  return {
    kind: r.kind,
    title: r.title,
    body: r.body,
    severity: r.severity,
    category: r.category,
    mode: r.mode,
    topics: r.topics,
    areas: r.areas,
    channels: r.channels,
    link: r.link,
    department: r.department,
    expiresAt: r.expiresAt,
    scheduledAt: r.scheduledAt,
  };
}

/** Statuses of a notice nobody has been sent yet, because an approver has not let it go. */
const UNAPPROVED: NoticeStatus[] = [...UNAPPROVED_STATUSES];

/** Two tokens of one name are one person: a four-eyes rule must not be met by a second token. */
const samePerson = (step: Pick<ApprovalStep, 'actor' | 'actorTokenId'>, actor: StaffIdentity): boolean =>
  step.actorTokenId === actor.tokenId || step.actor === actor.name;

/** Who asked for the current round of approval: the one who may not approve it, and its owner. */
const lastSubmission = (steps: ApprovalStep[]): ApprovalStep | undefined =>
  steps.findLast((s) => s.decision === 'submitted');

/** Only steps after the latest submission count: a resubmitted notice is approved afresh. */
function currentRound(steps: ApprovalStep[]): ApprovalStep[] {
  const last = steps.findLastIndex((s) => s.decision === 'submitted');
  return last === -1 ? steps : steps.slice(last + 1);
}

/** Distinct approvers of the current round. */
function approversOf(steps: ApprovalStep[]): number {
  const seen: ApprovalStep[] = [];
  for (const s of currentRound(steps)) {
    if (s.decision !== 'approved') continue;
    if (!seen.some((o) => o.actorTokenId === s.actorTokenId || o.actor === s.actor)) seen.push(s);
  }
  return seen.length;
}

/** sha256 of JSON with sorted keys, so the same request hashes the same whatever its key order. */
export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const unique = <T>(xs: T[]): T[] => [...new Set(xs)];

/** As long as the API allows, so a name the console takes is one the API takes too. */
export const DEPARTMENT_MAX = 60;
const departmentOf = (d: string | null | undefined): string | null => d?.trim() || null;

/** Delivery errors come from providers and may quote the recipient; the API never shows addresses. */
export function redactAddresses(text: string | null): string | null {
  return text === null ? null : text.replace(/[^\s<>()"',;:@]+@[^\s<>()"',;:@]+\.[^\s<>()"',;:@]+/g, '[address]');
}

/**
 * Every notice operation, in one place, so the API and the later web console do the same
 * checks, write the same audit entries and enqueue the same jobs.
 */
export function createNoticeService(deps: ServiceDeps) {
  const { store, queues, channels, catalogue, config, logger } = deps;
  const topicIds = new Set(catalogue.topics.map((t) => t.id));
  const areaCodes = new Set(catalogue.areas.map((a) => a.code));

  /** Topics, areas and channels must be ones this deployment knows; errors name each bad value. */
  function checkReferences(input: {
    title?: string;
    body?: string;
    link?: string | null;
    topics?: string[];
    areas?: string[];
    channels?: ChannelId[];
    department?: string | null;
  }): void {
    const fields: FieldErrors = {};
    // PostgreSQL cannot store U+0000 in text (SQLite can): name the field instead of failing the insert with a 500.
    for (const name of ['title', 'body', 'department', 'link'] as const) {
      if (input[name]?.includes('\u0000')) {
        fields[name] = [
          {
            ja: 'NUL 文字（U+0000）は使えません。文字を入力し直してください',
            en: 'contains a NUL character (U+0000); type the text again',
          },
        ];
      }
    }
    if ((input.department?.trim().length ?? 0) > DEPARTMENT_MAX) {
      fields.department = [
        { ja: `${DEPARTMENT_MAX}文字以内にしてください`, en: `at most ${DEPARTMENT_MAX} characters` },
      ];
    }
    const badTopics = (input.topics ?? []).filter((t) => !topicIds.has(t));
    if (badTopics.length > 0) {
      fields.topics = badTopics.map((t) => ({
        ja: `不明なトピックです: ${t}（使えるもの: ${[...topicIds].join(', ')}）`,
        en: `unknown topic: ${t} (known: ${[...topicIds].join(', ')})`,
      }));
    }
    const badAreas = (input.areas ?? []).filter((a) => !areaCodes.has(a));
    if (badAreas.length > 0) {
      fields.areas = badAreas.map((a) => ({
        ja: `この市で使えない地域コードです: ${a}（使えるもの: ${[...areaCodes].join(', ')}）`,
        en: `area code not known here: ${a} (known: ${[...areaCodes].join(', ')})`,
      }));
    }
    const enabled = channels.ids();
    const badChannels = (input.channels ?? []).filter((c) => !enabled.includes(c));
    if (badChannels.length > 0) {
      fields.channels = badChannels.map((c) => ({
        ja: `このサーバーで有効になっていないチャネルです: ${c}（有効: ${enabled.join(', ')}）`,
        en: `channel not enabled here: ${c} (enabled: ${enabled.join(', ')})`,
      }));
    }
    if (input.channels && input.channels.length === 0) {
      fields.channels = [{ ja: 'チャネルを一つ以上指定してください', en: 'name at least one channel' }];
    }
    const names = Object.keys(fields);
    if (names.length > 0) {
      throw new ApiError(
        400,
        'validation_failed',
        { ja: `入力内容に誤りがあります: ${names.join(', ')}`, en: `Invalid input: ${names.join(', ')}` },
        { fields },
      );
    }
  }

  function checkTimes(expiresAt: Date | null, sendAt: Date): void {
    if (expiresAt && expiresAt.getTime() <= sendAt.getTime()) {
      throw new ApiError(
        400,
        'validation_failed',
        { ja: '入力内容に誤りがあります: expiresAt', en: 'Invalid input: expiresAt' },
        {
          fields: {
            expiresAt: [
              { ja: '有効期限は配信時刻より後にしてください', en: 'must be later than the time the notice is sent' },
            ],
          },
        },
      );
    }
  }

  /** Approvals a notice of this severity needs before it goes out, once it is under review. */
  const approvalsNeeded = (severity: Severity): number => (severity === 'emergency' ? config.approvals.emergency : 1);

  function approvalState(notice: Notice, steps: ApprovalStep[], proposal?: ProposedRevision | null): ApprovalState {
    const reviewed = steps.length > 0 || UNAPPROVED.includes(notice.status);
    return {
      // A proposal always touches an emergency, so it needs what an emergency needs.
      required: proposal
        ? approvalsNeeded('emergency')
        : reviewed || notice.severity === 'emergency'
          ? approvalsNeeded(notice.severity)
          : 0,
      received: approversOf(steps),
      approvals: steps.map((s) => ({ decision: s.decision, actor: s.actor, comment: s.comment, at: s.at })),
    };
  }

  /** Why this person may not approve this notice now, if they may not; the one place the rules live. */
  function approvalRefusal(
    notice: Notice,
    steps: ApprovalStep[],
    actor: StaffIdentity,
    proposal?: ProposedRevision | null,
  ): ApiError | undefined {
    if (!hasRole(actor, 'approver')) return forbidden('approver');
    if (!proposal && notice.status !== 'pending_approval') return notPending(notice);
    // A notice's author never approves it, in any round; a proposal is judged by its own round
    // (whoever wrote revision 1 may approve a colleague's correction of it).
    const submitter = proposal ? lastSubmission(steps) : undefined;
    const submitted = proposal
      ? submitter !== undefined && samePerson(submitter, actor)
      : steps.some((s) => s.decision === 'submitted' && samePerson(s, actor)) || notice.createdBy === actor.name;
    if (submitted) {
      return new ApiError(403, 'own_submission', {
        ja: `通知 ${notice.id} はご自身が申請したものなので承認できません。別の承認者(approver)に依頼してください`,
        en: `You submitted notice ${notice.id}, so you cannot approve it; ask another approver`,
      });
    }
    if (currentRound(steps).some((s) => s.decision === 'approved' && samePerson(s, actor))) {
      return new ApiError(403, 'already_approved', {
        ja: `通知 ${notice.id} はすでに承認済みです。配信にはほかの承認者(approver)の承認が必要です`,
        en: `You have already approved notice ${notice.id}; it needs another approver's approval`,
      });
    }
    return undefined;
  }

  function notPending(notice: Notice): ApiError {
    return new ApiError(409, 'not_pending_approval', {
      ja: `通知 ${notice.id} は承認待ちではありません（現在: ${notice.status}）`,
      en: `Notice ${notice.id} is not waiting for approval (status: ${notice.status})`,
    });
  }

  /** Corrections and retries are for notices that went out; one still under review is changed by resubmitting. */
  function refuseUnapproved(notice: Notice, what: Bilingual): void {
    if (!UNAPPROVED.includes(notice.status)) return;
    throw new ApiError(409, 'not_approved', {
      ja: `通知 ${notice.id} はまだ承認されておらず配信されていないため、${what.ja}できません（${
        notice.status === 'returned' ? '差し戻し中: 内容を直して再申請してください' : '承認待ち'
      }）`,
      en: `Notice ${notice.id} has not been approved or sent yet, so it cannot be ${what.en} (${
        notice.status === 'returned' ? 'returned: change it and resubmit' : 'waiting for approval'
      })`,
    });
  }

  function requireComment(comment: string | undefined): string {
    const text = comment?.trim() ?? '';
    if (text === '') {
      throw new ApiError(
        400,
        'comment_required',
        {
          ja: '差し戻しにはコメントが必要です: comment',
          en: 'Returning a notice needs a comment: comment',
        },
        {
          fields: {
            comment: [
              {
                ja: '作成者が何を直せばよいかを書いてください',
                en: 'say what the author should change',
              },
            ],
          },
        },
      );
    }
    return text;
  }

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

  async function requireNotice(noticeId: string): Promise<{ notice: Notice; current: Revision }> {
    const notice = await store.notices.get(noticeId);
    const current = notice ? await store.notices.getRevision(noticeId, notice.currentRevision) : undefined;
    if (!notice || !current) throw notFoundError({ ja: `通知 ${noticeId} `, en: `Notice ${noticeId}` });
    return { notice, current };
  }

  /**
   * Whether a correction or cancellation must wait for approvers: any that is, or makes the
   * notice, an emergency needs what a first emergency needs, whoever posts it (an approver's
   * own counts as one of them). While one waits, every later change goes the same way, so a
   * direct correction can never slip past it or be overwritten when it is released.
   */
  function needsApproval(
    current: Revision,
    next: RevisionInput,
    actor: StaffIdentity,
    waiting: ProposedRevision | undefined,
  ): boolean {
    if (waiting) return true;
    if (current.severity !== 'emergency' && next.severity !== 'emergency') return false;
    return !hasRole(actor, 'approver') || approvalsNeeded('emergency') > 1;
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
    if (waiting && !samePerson(proposer(waiting), actor) && !hasRole(actor, 'approver')) {
      throw new ApiError(409, 'proposal_pending', {
        ja: `通知 ${notice.id} には ${waiting.proposedBy} さんの訂正・取消（第${waiting.revision}版）が承認待ちです。承認か差し戻しを待ってから操作してください`,
        en: `Notice ${notice.id} already has a correction or cancellation by ${waiting.proposedBy} (revision ${waiting.revision}) waiting for approval; wait until it is approved or returned`,
      });
    }
    const proposal = await store.proposedRevisions.put(notice.id, current.revision + 1, input, actor, now);
    const required = approvalsNeeded('emergency');
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
    return { notice, proposal, approval: approvalState(notice, steps, proposal) };
  }

  const proposer = (p: ProposedRevision) => ({ actor: p.proposedBy, actorTokenId: p.proposedByTokenId });

  async function applyCorrection(noticeId: string, next: RevisionInput, author: string, now: Date): Promise<Revision> {
    const revision = await store.notices.addRevision(noticeId, next, author, now);
    await enqueue(revision, now);
    return revision;
  }

  /** The 【取消】 revision of the current one, to the same audience. */
  function cancelRevision(current: Revision, reason: string | undefined, now: Date): RevisionInput {
    return {
      kind: 'cancel',
      title: current.title,
      // The withdrawn instructions are not repeated under 【取消】: only the reason, if any.
      body: reason ?? '',
      severity: current.severity,
      category: current.category,
      mode: current.mode,
      topics: current.topics,
      areas: current.areas,
      channels: current.channels,
      link: null,
      department: current.department,
      expiresAt: current.expiresAt && current.expiresAt > now ? current.expiresAt : null,
      scheduledAt: null,
    };
  }

  /** Stores the cancellation and sends it, unless the notice was still waiting for its schedule. */
  async function applyCancel(
    notice: Notice,
    current: Revision,
    next: RevisionInput,
    author: string,
    now: Date,
  ): Promise<{ revision: Revision; sent: boolean }> {
    let silent = false;
    if (notice.status === 'scheduled' && current.scheduledAt && current.scheduledAt > now) {
      const job = await queues.dispatch.getJob(dispatchJobId(notice.id, current.revision));
      if (!job) silent = true;
      else if (await job.isDelayed()) {
        // A job that started meanwhile cannot be removed; then the cancellation is sent as usual.
        silent = await job.remove().then(
          () => true,
          () => false,
        );
      }
    }
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

  /** A notice waiting for approval is its author's to withdraw or resubmit, or an approver's. */
  function requireOwnerOrApprover(notice: Notice, steps: ApprovalStep[], actor: StaffIdentity, what: Bilingual): void {
    if (hasRole(actor, 'approver')) return;
    const own =
      notice.createdBy === actor.name || steps.some((s) => s.decision === 'submitted' && samePerson(s, actor));
    if (own) return;
    throw new ApiError(403, 'not_your_notice', {
      ja: `通知 ${notice.id} は ${notice.createdBy} さんの申請です。${what.ja}できるのは申請した本人か承認者(approver)だけです`,
      en: `Notice ${notice.id} was submitted by ${notice.createdBy}; only its author or an approver may ${what.en} it`,
    });
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
      throw new ApiError(503, 'queue_unavailable', {
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
    const job = await queues.dispatch.getJob(dispatchJobId(notice.id, revision.revision));
    if (job) {
      if (await job.isFailed()) {
        await job.retry();
        return true;
      }
      return false;
    }
    if (notice.status === 'queued' || notice.status === 'scheduled') {
      await enqueue(revision, now);
      return true;
    }
    return false;
  }

  function derive(notice: Notice, current: Revision, counts: StatusCounts | undefined, now: Date): DerivedStatus {
    if (notice.status === 'cancelled') return 'cancelled';
    if (notice.status === 'pending_approval' || notice.status === 'returned') return notice.status;
    const c = counts ?? { queued: 0, sent: 0, failed: 0, skipped: 0 };
    if (c.queued > 0) return 'sending';
    if (notice.status === 'dispatched') return c.failed > 0 ? 'completed_with_failures' : 'completed';
    if (c.sent + c.failed + c.skipped > 0) return 'sending';
    if (notice.status === 'scheduled' && current.scheduledAt && current.scheduledAt > now) return 'scheduled';
    return 'queued';
  }

  /** Revision 1 of a new notice, with the defaults; a schedule in the past means now. */
  function firstRevision(input: NoticeInput, now: Date): RevisionInput {
    return {
      kind: 'alert',
      title: input.title,
      body: input.body,
      severity: input.severity,
      category: input.category,
      mode: input.mode ?? 'actual',
      topics: unique(input.topics ?? []),
      areas: unique(input.areas ?? []),
      channels: unique(input.channels ?? channels.ids()),
      link: input.link ?? null,
      department: departmentOf(input.department),
      expiresAt: input.expiresAt ?? null,
      scheduledAt: input.scheduledAt && input.scheduledAt > now ? input.scheduledAt : null,
    };
  }

  async function requireUnsent(noticeId: string) {
    const found = await requireNotice(noticeId);
    const steps = await store.approvals.list(noticeId);
    return { ...found, steps };
  }

  /** The next revision of a correction: the changed fields over the current revision, sent now. */
  function correctionRevision(current: Revision, changes: CorrectionInput): RevisionInput {
    return {
      kind: 'update',
      title: changes.title ?? current.title,
      body: changes.body ?? current.body,
      severity: changes.severity ?? current.severity,
      category: changes.category ?? current.category,
      mode: current.mode,
      topics: unique(changes.topics ?? current.topics),
      areas: unique(changes.areas ?? current.areas),
      channels: unique(changes.channels ?? current.channels),
      link: changes.link !== undefined ? changes.link : current.link,
      department: changes.department !== undefined ? departmentOf(changes.department) : current.department,
      expiresAt: changes.expiresAt !== undefined ? changes.expiresAt : current.expiresAt,
      scheduledAt: null,
    };
  }

  /** A revision as the store would record it, for a preview. */
  function unsaved(noticeId: string, number: number, input: RevisionInput, now: Date): Revision {
    return {
      ...input,
      noticeId,
      revision: number,
      capIdentifier: capIdentifierFor(config.city.code, noticeId, number),
      // As the store will record it: CAP's sent carries whole seconds.
      sentAt: new Date(Math.floor((input.scheduledAt ?? now).getTime() / 1000) * 1000),
      createdBy: 'preview',
      createdAt: now,
    };
  }

  /** Every channel's own render of a revision, in each language its audience reads. */
  function renderPreview(revision: Revision, earlier: Revision[]): PreviewResult {
    const view = toNoticeView(revision, earlier, deps.links, config.city, deps.areas);
    const renders: PreviewRender[] = [];
    for (const channelId of revision.channels) {
      const channel = channels.require(channelId);
      // Subscribers read their own language; a public channel posts once, in Japanese.
      const locales: Locale[] = channel.audience === 'subscribers' ? ['ja', 'en'] : ['ja'];
      for (const locale of locales) {
        try {
          renders.push({ channel: channelId, locale, rendered: channel.render(view, locale) });
        } catch (err) {
          renders.push({ channel: channelId, locale, error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    return { view, renders };
  }

  const audit = (actor: StaffIdentity, action: string, target: string, detail?: unknown) =>
    store.audit.record(actor.name, action, target, detail);

  return {
    /**
     * Creates a notice and queues its dispatch. With an idempotency key (scoped to the
     * token), the same request again returns the first notice and sends nothing new;
     * the same key with a different request is a 422.
     */
    async post(input: NoticeInput, actor: StaffIdentity, idempotencyKey?: string): Promise<PostResult> {
      const now = new Date();
      const requestApproval = input.requestApproval === true;
      if (input.severity === 'emergency' && !requestApproval && !hasRole(actor, 'approver')) {
        throw forbidden('approver', EMERGENCY_NEEDS_APPROVAL);
      }
      // An approver's own emergency counts as one approval; with two required it waits for a second.
      const selfApproved = input.severity === 'emergency' && !requestApproval;
      const pending = requestApproval || (selfApproved && approvalsNeeded('emergency') > 1);
      checkReferences(input);
      const revisionInput = firstRevision(input, now);
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
          throw new ApiError(422, 'idempotency_key_reused', {
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
        // (or gets the 422 if its body differs).
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
        const required = approvalsNeeded(revisionInput.severity);
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
     * One that touches an emergency is held for approval instead (see needsApproval).
     */
    async correct(noticeId: string, changes: CorrectionInput, actor: StaffIdentity): Promise<Released | Proposed> {
      const now = new Date();
      const { notice, current } = await requireNotice(noticeId);
      if (notice.status === 'cancelled') {
        throw new ApiError(409, 'notice_cancelled', {
          ja: `通知 ${noticeId} は取り消し済みのため訂正できません`,
          en: `Notice ${noticeId} is cancelled and cannot be corrected`,
        });
      }
      refuseUnapproved(notice, { ja: '訂正', en: 'corrected' });
      if (notice.status === 'scheduled' && current.scheduledAt && current.scheduledAt > now) {
        throw new ApiError(409, 'notice_scheduled', {
          ja: `通知 ${noticeId} はまだ配信されていません（予約中）。取り消してから新しく作成してください`,
          en: `Notice ${noticeId} has not been sent yet (scheduled); cancel it and post a new one`,
        });
      }
      const changed = Object.entries(changes)
        .filter(([, v]) => v !== undefined)
        .map(([k]) => k);
      if (changed.length === 0) {
        throw new ApiError(400, 'no_changes', {
          ja: '訂正する項目を一つ以上指定してください',
          en: 'Name at least one field to correct',
        });
      }
      const next = correctionRevision(current, changes);
      checkReferences(changes);
      checkTimes(next.expiresAt, now);
      const waiting = await store.proposedRevisions.get(noticeId);
      if (needsApproval(current, next, actor, waiting)) {
        return propose(notice, current, next, actor, waiting, { changed }, now);
      }
      const revision = await applyCorrection(noticeId, next, actor.name, now);
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
      if (notice.status === 'cancelled') {
        throw new ApiError(409, 'already_cancelled', {
          ja: `通知 ${noticeId} はすでに取り消されています`,
          en: `Notice ${noticeId} is already cancelled`,
        });
      }
      if (UNAPPROVED.includes(notice.status)) {
        // Nobody has seen it: withdraw it with no revision, so nothing about it is ever published.
        // Its author may do so even for an emergency, since nothing is sent; a colleague may not.
        requireOwnerOrApprover(notice, await store.approvals.list(noticeId), actor, {
          ja: '取り下げ',
          en: 'withdraw',
        });
        if (!(await store.notices.moveStatus(noticeId, UNAPPROVED, 'cancelled', now))) {
          throw new ApiError(409, 'status_changed', {
            ja: `通知 ${noticeId} の状態がちょうど変わりました。状態を確かめてからもう一度操作してください`,
            en: `Notice ${noticeId} changed state just now; check it and try again`,
          });
        }
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
      if (needsApproval(current, next, actor, waiting)) {
        return propose(notice, current, next, actor, waiting, { reason: reason ?? null }, now);
      }
      const { revision, sent } = await applyCancel(notice, current, next, actor.name, now);
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

    /** Renders an unsaved notice on every enabled channel; stores and sends nothing. */
    preview(input: NoticeInput): PreviewResult {
      checkReferences(input);
      const now = new Date();
      return renderPreview(unsaved('n-preview', 1, firstRevision(input, now), now), []);
    },

    /**
     * Renders a correction as it would go out (the next revision, marked 【訂正】 and
     * referring to the earlier ones) without storing or sending anything.
     */
    async previewCorrection(noticeId: string, changes: CorrectionInput): Promise<PreviewResult> {
      checkReferences(changes);
      const { notice, current } = await requireNotice(noticeId);
      const earlier = await store.notices.revisions(noticeId);
      const next = correctionRevision(current, changes);
      return renderPreview(unsaved(notice.id, current.revision + 1, next, new Date()), earlier);
    },

    /** The notice, its revisions with delivery counts per channel, and its status as staff see it. */
    async get(noticeId: string): Promise<NoticeDetail> {
      const { notice, current } = await requireNotice(noticeId);
      const revisions = await store.notices.revisions(noticeId);
      const counts = await store.deliveries.counts(noticeId);
      const details: RevisionDetail[] = revisions.map((r) => {
        const perChannel: Partial<Record<ChannelId, StatusCounts>> = {};
        for (const ch of r.channels) perChannel[ch] = { queued: 0, sent: 0, failed: 0, skipped: 0 };
        for (const c of counts.filter((x) => x.revision === r.revision)) {
          const entry = perChannel[c.channel] ?? { queued: 0, sent: 0, failed: 0, skipped: 0 };
          entry[c.status] += c.count;
          perChannel[c.channel] = entry;
        }
        return { ...r, counts: perChannel };
      });
      const currentCounts = details.find((d) => d.revision === current.revision)?.counts ?? {};
      const total: StatusCounts = { queued: 0, sent: 0, failed: 0, skipped: 0 };
      for (const c of Object.values(currentCounts)) {
        for (const s of ['queued', 'sent', 'failed', 'skipped'] as const) total[s] += c[s];
      }
      const steps = await store.approvals.list(noticeId);
      const proposal = (await store.proposedRevisions.get(noticeId)) ?? null;
      return {
        notice,
        status: derive(notice, current, total, new Date()),
        revisions: details,
        approval: approvalState(notice, steps, proposal),
        proposal,
      };
    },

    /** Where a notice stands in its approval: how many approvals it needs, has, and every step. */
    async approvalOf(noticeId: string): Promise<ApprovalState> {
      const { notice } = await requireNotice(noticeId);
      const proposal = await store.proposedRevisions.get(noticeId);
      return approvalState(notice, await store.approvals.list(noticeId), proposal);
    },

    /** Whether this person may approve the notice now (for showing or hiding an approve button). */
    async checkApproval(noticeId: string, actor: StaffIdentity): Promise<ApprovalCheck> {
      const { notice } = await requireNotice(noticeId);
      const proposal = await store.proposedRevisions.get(noticeId);
      const refusal = approvalRefusal(notice, await store.approvals.list(noticeId), actor, proposal);
      return refusal
        ? { ok: false, code: refusal.code, message: { ja: refusal.message, en: refusal.messageEn } }
        : { ok: true };
    },

    /**
     * An approver's approval of a notice waiting for it. When the distinct approvals since its
     * latest submission reach what it needs, it is queued (or scheduled) and dispatched as post() does.
     */
    async approve(noticeId: string, comment: string | undefined, actor: StaffIdentity): Promise<ApprovalResult> {
      const now = new Date();
      const { notice, current, steps } = await requireUnsent(noticeId);
      const proposal = (await store.proposedRevisions.get(noticeId)) ?? null;
      const refusal = approvalRefusal(notice, steps, actor, proposal);
      if (refusal) throw refusal;
      // A cancellation may be approved after the notice expired (it lifts nothing then, but says so).
      const expiresAt = proposal
        ? proposal.input.kind === 'cancel'
          ? null
          : proposal.input.expiresAt
        : current.expiresAt;
      if (expiresAt && expiresAt <= now) {
        throw new ApiError(409, 'approval_expired', {
          ja: `通知 ${noticeId} の有効期限（${expiresAt.toISOString()}）が過ぎているため承認できません。差し戻して有効期限を直してもらってください`,
          en: `Notice ${noticeId} expired at ${expiresAt.toISOString()} and cannot be approved; return it so its expiry is changed`,
        });
      }
      const text = comment?.trim() || null;
      const all = [...steps, await store.approvals.record(noticeId, 'approved', actor, text, now)];
      const required = proposal ? approvalsNeeded('emergency') : approvalsNeeded(current.severity);
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
          ? (await releaseProposal(proposal, actor, received, now))?.notice
          : await release(notice, current, now)
        : undefined;
      const updated = released ?? (await store.notices.get(noticeId)) ?? notice;
      const left = released ? null : proposal;
      return { notice: updated, approval: approvalState(updated, all, left), released: released !== undefined };
    },

    /** Sends a notice back to its author with what to change; nothing is sent. */
    async returnForChanges(
      noticeId: string,
      comment: string | undefined,
      actor: StaffIdentity,
    ): Promise<ApprovalResult> {
      const now = new Date();
      if (!hasRole(actor, 'approver')) throw forbidden('approver');
      const { notice } = await requireNotice(noticeId);
      const text = requireComment(comment);
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
          approval: approvalState(notice, await store.approvals.list(noticeId)),
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
        approval: approvalState(updated, await store.approvals.list(noticeId)),
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
      const notReturned = (n: Notice) =>
        new ApiError(409, 'not_returned', {
          ja: `通知 ${noticeId} は差し戻されていないため再申請できません（現在: ${n.status}）`,
          en: `Notice ${noticeId} has not been returned, so it cannot be resubmitted (status: ${n.status})`,
        });
      if (notice.status !== 'returned') throw notReturned(notice);
      requireOwnerOrApprover(notice, await store.approvals.list(noticeId), actor, { ja: '再申請', en: 'resubmit' });
      checkReferences(changes);
      const pick = <K extends keyof ResubmitInput>(key: K, fallback: NonNullable<NoticeInput[K]> | null) =>
        changes[key] !== undefined ? changes[key] : fallback;
      const next = firstRevision(
        {
          title: changes.title ?? current.title,
          body: changes.body ?? current.body,
          severity: changes.severity ?? current.severity,
          category: changes.category ?? current.category,
          mode: changes.mode ?? current.mode,
          topics: changes.topics ?? current.topics,
          areas: changes.areas ?? current.areas,
          channels: changes.channels ?? current.channels,
          link: pick('link', current.link),
          department: pick('department', current.department),
          expiresAt: pick('expiresAt', current.expiresAt),
          scheduledAt: pick('scheduledAt', current.scheduledAt),
        },
        now,
      );
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
      const changed = Object.entries(changes)
        .filter(([, v]) => v !== undefined)
        .map(([k]) => k);
      await audit(actor, 'notice.resubmit', noticeId, {
        changed,
        required: approvalsNeeded(next.severity),
        comment: text,
      });
      return {
        notice: rewritten.notice,
        revision: rewritten.revision,
        approval: approvalState(rewritten.notice, await store.approvals.list(noticeId)),
        released: false,
      };
    },

    /** Corrections and cancellations waiting for approval, oldest first, with their notices. */
    async proposals(limit: number): Promise<Array<{ notice: Notice; proposal: ProposedRevision }>> {
      const found = [];
      for (const proposal of await store.proposedRevisions.list(limit)) {
        const notice = await store.notices.get(proposal.noticeId);
        if (notice) found.push({ notice, proposal });
      }
      return found;
    },

    /** Newest first; the cursor is the last id of the previous page. */
    async list(options: { limit: number; cursor?: string; status?: NoticeStatus }): Promise<NoticePage> {
      const rows = await store.notices.list({
        limit: options.limit + 1,
        ...(options.cursor ? { before: options.cursor } : {}),
        ...(options.status ? { status: options.status } : {}),
      });
      const items = rows.slice(0, options.limit);
      return { items, nextCursor: rows.length > options.limit ? (items.at(-1)?.id ?? null) : null };
    },

    /** A page of delivery rows; never an address, not even inside a provider's error text. */
    async deliveries(
      noticeId: string,
      filter: { channel?: ChannelId; status?: DeliveryStatus; revision?: number; cursor?: number; limit: number },
    ): Promise<DeliveryPage> {
      await requireNotice(noticeId);
      const rows = await store.deliveries.list(noticeId, {
        limit: filter.limit + 1,
        ...(filter.channel ? { channel: filter.channel } : {}),
        ...(filter.status ? { status: filter.status } : {}),
        ...(filter.revision ? { revision: filter.revision } : {}),
        ...(filter.cursor ? { after: filter.cursor } : {}),
      });
      const items = rows.slice(0, filter.limit).map((r) => ({ ...r, lastError: redactAddresses(r.lastError) }));
      return { items, nextCursor: rows.length > filter.limit ? (items.at(-1)?.id ?? null) : null };
    },
  };
}
