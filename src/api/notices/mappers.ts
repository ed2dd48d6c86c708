import type { z } from '@hono/zod-openapi';
import type { Links } from '../../domain/links.ts';
import type {
  ApprovalResult,
  ApprovalState,
  NoticeInput,
  Proposed,
  Released,
  ResubmitInput,
  RevisionDetail,
} from '../../services/notices/index.ts';
import { revisionContent } from '../../services/notices/index.ts';
import type { Notice } from '../../store/notices.ts';
import type { ProposedRevision } from '../../store/proposed-revisions.ts';
import type { NoticeBody, ResubmitBody } from './schemas.ts';

/** From the API's JSON to the service's input, and from the service's answers back to JSON. */

export const dateOrNull = (s: string | null | undefined): Date | null => (s ? new Date(s) : null);

export function toNoticeInput(body: z.infer<typeof NoticeBody>): NoticeInput {
  const input: NoticeInput = {
    title: body.title,
    body: body.body,
    severity: body.severity,
    category: body.category,
    expiresAt: dateOrNull(body.expiresAt),
    scheduledAt: dateOrNull(body.scheduledAt),
    link: body.link ?? null,
  };
  if (body.topics) input.topics = body.topics;
  if (body.areas) input.areas = body.areas;
  if (body.channels) input.channels = body.channels;
  if (body.mode) input.mode = body.mode;
  if (body.department !== undefined) input.department = body.department || null;
  if (body.requestApproval) input.requestApproval = true;
  return input;
}

export const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function summary(n: Notice, links: Links) {
  return {
    id: n.id,
    status: n.status,
    currentRevision: n.currentRevision,
    severity: n.severity,
    mode: n.mode,
    title: n.title,
    createdBy: n.createdBy,
    createdAt: n.createdAt.toISOString(),
    updatedAt: n.updatedAt.toISOString(),
    pageUrl: links.noticePage(n.id),
  };
}

export function revisionOut(r: RevisionDetail) {
  const { expiresAt, scheduledAt, ...content } = revisionContent(r);
  return {
    revision: r.revision,
    ...content,
    capIdentifier: r.capIdentifier,
    sentAt: r.sentAt.toISOString(),
    expiresAt: iso(expiresAt),
    scheduledAt: iso(scheduledAt),
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    counts: r.counts,
  };
}

/** The fields a correction or resubmission sent, as the service takes them; the rest stay as they are. */
export function changesOf(b: Omit<z.infer<typeof ResubmitBody>, 'comment'>): ResubmitInput {
  return {
    ...(b.title !== undefined ? { title: b.title } : {}),
    ...(b.body !== undefined ? { body: b.body } : {}),
    ...(b.severity !== undefined ? { severity: b.severity } : {}),
    ...(b.category !== undefined ? { category: b.category } : {}),
    ...(b.topics !== undefined ? { topics: b.topics } : {}),
    ...(b.areas !== undefined ? { areas: b.areas } : {}),
    ...(b.channels !== undefined ? { channels: b.channels } : {}),
    ...(b.mode !== undefined ? { mode: b.mode } : {}),
    ...(b.link !== undefined ? { link: b.link } : {}),
    ...(b.expiresAt !== undefined ? { expiresAt: dateOrNull(b.expiresAt) } : {}),
    ...(b.scheduledAt !== undefined ? { scheduledAt: dateOrNull(b.scheduledAt) } : {}),
    ...(b.department !== undefined ? { department: b.department || null } : {}),
  };
}

export function approvalOut(a: ApprovalState) {
  return {
    required: a.required,
    received: a.received,
    approvals: a.approvals.map((s) => ({
      decision: s.decision,
      actor: s.actor,
      comment: s.comment,
      at: s.at.toISOString(),
    })),
  };
}

export function proposalOut(p: ProposedRevision) {
  return {
    revision: p.revision,
    kind: p.input.kind === 'cancel' ? ('cancel' as const) : ('update' as const),
    title: p.input.title,
    body: p.input.body,
    severity: p.input.severity,
    areas: p.input.areas,
    proposedBy: p.proposedBy,
    proposedAt: p.proposedAt.toISOString(),
  };
}

/** What a correction or cancellation answers: sent, or held for approval. */
export function acceptedOut(r: Released | Proposed) {
  if (r.proposal) {
    return {
      id: r.notice.id,
      revision: r.proposal.revision,
      status: 'pending_approval',
      approval: approvalOut(r.approval),
    };
  }
  return { id: r.notice.id, revision: r.revision.revision, status: r.notice.status };
}

export function approvalResult(r: ApprovalResult) {
  return {
    id: r.notice.id,
    revision: r.notice.currentRevision,
    status: r.notice.status,
    released: r.released,
    approval: approvalOut(r.approval),
  };
}
