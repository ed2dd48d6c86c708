import { createRoute, z } from '@hono/zod-openapi';
import { DERIVED_STATUSES } from '../domain/labels.ts';
import type { Links } from '../domain/links.ts';
import { CATEGORIES, CHANNEL_IDS, MODES, SEVERITIES } from '../domain/notice.ts';
import { requireRole } from '../http/auth.ts';
import {
  type ApprovalResult,
  type ApprovalState,
  DEPARTMENT_MAX,
  type NoticeInput,
  type NoticeService,
  type Proposed,
  type Released,
  type ResubmitInput,
  type RevisionDetail,
  revisionContent,
} from '../services/notices/index.ts';
import type { Notice } from '../store/notices.ts';
import type { ProposedRevision } from '../store/proposed-revisions.ts';
import type { TokenRepo } from '../store/tokens.ts';
import { AreaCode } from './fields.ts';
import { bearer, createRouter, errorResponses } from './router.ts';

const isoDateTime = z.iso.datetime({ offset: true }).openapi({
  description: 'ISO 8601（タイムゾーン付き） / ISO 8601 with offset',
  example: '2026-11-26T19:40:00+09:00',
});

const noticeFields = {
  title: z.string().trim().min(1).max(200).openapi({ example: '避難所の開設について' }),
  body: z.string().trim().min(1).max(20_000).openapi({ example: '本日19時より、市内の避難所を開設しました。' }),
  severity: z
    .enum(SEVERITIES)
    .openapi({ description: 'emergency には approver 以上のトークンが必要 / emergency needs approver+' }),
  category: z.enum(CATEGORIES),
  topics: z
    .array(z.string().min(1).max(50))
    .max(50)
    .openapi({ example: ['disaster', 'shelter'] }),
  areas: z.array(AreaCode).max(500).openapi({
    description: 'JIS X 0402 団体コード。空なら市全域 / JIS X 0402 codes; empty means the whole city',
    example: [],
  }),
  channels: z
    .array(z.enum(CHANNEL_IDS))
    .min(1)
    .openapi({ description: '省略時は有効なすべてのチャネル / default: every enabled channel' }),
  link: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .nullable(),
  expiresAt: isoDateTime.nullable(),
  department: z.string().trim().max(DEPARTMENT_MAX).nullable().openapi({
    description:
      '発表する課（住民に表示）。省略時は市として / the issuing section, shown to residents; default: the city',
    example: '危機管理防災課',
  }),
};

/** The stored status; the detail's is the derived one (DERIVED_STATUSES), as staff see it. */
const NoticeStatusEnum = z.enum(['pending_approval', 'returned', 'scheduled', 'queued', 'dispatched', 'cancelled']);

export const NoticeBody = z
  .strictObject({
    ...noticeFields,
    topics: noticeFields.topics.optional(),
    areas: noticeFields.areas.optional(),
    channels: noticeFields.channels.optional(),
    mode: z.enum(MODES).optional().openapi({ description: '既定 actual / default actual' }),
    expiresAt: noticeFields.expiresAt.optional(),
    scheduledAt: isoDateTime
      .nullable()
      .optional()
      .openapi({ description: '未来なら予約配信 / a future time sends later' }),
    link: noticeFields.link.optional(),
    department: noticeFields.department.optional(),
    requestApproval: z.boolean().optional().openapi({
      description:
        '承認を申請する（承認されるまで配信しない）。作成者(author)が緊急の通知を出すときに必要 / submit for approval (nothing is sent until approved); how an author sends an emergency',
    }),
  })
  .openapi('NoticeInput');

const CorrectionBody = z
  .strictObject({
    title: noticeFields.title.optional(),
    body: noticeFields.body.optional(),
    severity: noticeFields.severity.optional(),
    category: noticeFields.category.optional(),
    topics: noticeFields.topics.optional(),
    areas: noticeFields.areas.optional(),
    channels: noticeFields.channels.optional(),
    link: noticeFields.link.optional(),
    expiresAt: noticeFields.expiresAt.optional(),
    department: noticeFields.department.optional(),
  })
  .openapi('NoticeCorrection');

const ResubmitBody = z
  .strictObject({
    title: noticeFields.title.optional(),
    body: noticeFields.body.optional(),
    severity: noticeFields.severity.optional(),
    category: noticeFields.category.optional(),
    topics: noticeFields.topics.optional(),
    areas: noticeFields.areas.optional(),
    channels: noticeFields.channels.optional(),
    mode: z.enum(MODES).optional(),
    link: noticeFields.link.optional(),
    expiresAt: noticeFields.expiresAt.optional(),
    scheduledAt: isoDateTime.nullable().optional(),
    department: noticeFields.department.optional(),
    comment: z
      .string()
      .trim()
      .max(2000)
      .optional()
      .openapi({ description: '承認者への一言 / a note to the approvers' }),
  })
  .openapi('NoticeResubmission');

const ApproveBody = z
  .strictObject({
    comment: z.string().trim().max(2000).optional().openapi({ example: '内容を確認しました。' }),
  })
  .openapi('NoticeApproval');

const ReturnBody = z
  .strictObject({
    comment: z.string().max(2000).optional().openapi({
      description: '必須: 何を直すか / required: what to change',
      example: '避難所の名前を確認してください。',
    }),
  })
  .openapi('NoticeReturn');

const ApprovalOut = z
  .object({
    required: z.number().int().openapi({
      description:
        '配信に必要な承認の数（承認不要で配信した通知は 0） / approvals needed before sending (0: sent without review)',
    }),
    received: z
      .number()
      .int()
      .openapi({ description: '最新の申請以降の承認者数 / distinct approvers since the latest submission' }),
    approvals: z.array(
      z.object({
        decision: z.enum(['submitted', 'approved', 'returned']),
        actor: z.string(),
        comment: z.string().nullable(),
        at: z.string(),
      }),
    ),
  })
  .openapi('Approval');

const ApprovalResultOut = z
  .object({
    id: z.string(),
    revision: z.number().int(),
    status: NoticeStatusEnum,
    released: z.boolean().openapi({ description: 'この操作で配信キューに入った / this step sent it to the queue' }),
    approval: ApprovalOut,
  })
  .openapi('ApprovalResult');

const CancelBody = z
  .strictObject({
    reason: z.string().trim().max(2000).optional().openapi({ example: '誤って配信したため取り消します。' }),
  })
  .openapi('NoticeCancel');

const Accepted = z
  .object({
    id: z.string(),
    revision: z.number().int(),
    status: z.string().openapi({ description: 'pending_approval | scheduled | queued | cancelled' }),
    approval: ApprovalOut.optional().openapi({
      description:
        '緊急の通知に関わる訂正・取消は承認待ちになる（status: pending_approval、まだ何も配信しない） / a correction or cancellation touching an emergency waits for approval (status: pending_approval; nothing sent yet)',
    }),
  })
  .openapi('NoticeAccepted');

const NoticeSummary = z
  .object({
    id: z.string(),
    status: NoticeStatusEnum,
    currentRevision: z.number().int(),
    severity: z.enum(SEVERITIES),
    mode: z.enum(MODES),
    title: z.string(),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    pageUrl: z.string(),
  })
  .openapi('NoticeSummary');

const Counts = z.object({ queued: z.number(), sent: z.number(), failed: z.number(), skipped: z.number() });

const RevisionOut = z
  .object({
    revision: z.number().int(),
    kind: z.enum(['alert', 'update', 'cancel']),
    title: z.string(),
    body: z.string(),
    severity: z.enum(SEVERITIES),
    category: z.enum(CATEGORIES),
    mode: z.enum(MODES),
    topics: z.array(z.string()),
    areas: z.array(z.string()),
    channels: z.array(z.enum(CHANNEL_IDS)),
    link: z.string().nullable(),
    department: z.string().nullable(),
    capIdentifier: z.string(),
    sentAt: z.string(),
    expiresAt: z.string().nullable(),
    scheduledAt: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.string(),
    counts: z
      .record(z.string(), Counts)
      .openapi({ description: 'チャネルごとの配信件数 / delivery rows per channel by status' }),
  })
  .openapi('Revision');

const ProposalOut = z
  .object({
    revision: z
      .number()
      .int()
      .openapi({ description: '承認されるとこの版になる / the revision it becomes once approved' }),
    kind: z.enum(['update', 'cancel']),
    title: z.string(),
    body: z.string(),
    severity: z.enum(SEVERITIES),
    areas: z.array(z.string()),
    proposedBy: z.string(),
    proposedAt: z.string(),
  })
  .openapi('ProposedRevision');

const NoticeDetailOut = NoticeSummary.extend({
  status: z.enum(DERIVED_STATUSES),
  revisions: z.array(RevisionOut),
  approval: ApprovalOut,
  proposal: ProposalOut.nullable().openapi({
    description:
      '承認待ちの訂正・取消（緊急の通知に関わるもの）。承認されるまで誰にも配信されない / a correction or cancellation touching an emergency, waiting for approval; nothing is sent until it is approved',
  }),
}).openapi('NoticeDetail');

const DeliveryOut = z
  .object({
    id: z.number().int(),
    revision: z.number().int(),
    channel: z.enum(CHANNEL_IDS),
    recipient: z.string().openapi({
      description:
        '連絡先 ID（アドレスではない）、公開チャネルは * / contact id, never an address; * for a public channel',
    }),
    status: z.enum(['queued', 'sent', 'failed', 'skipped']),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    providerId: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    sentAt: z.string().nullable(),
  })
  .openapi('Delivery');

const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'n01kzz8x5d3qv7m2r4t6w8y0ab' }),
});

const dateOrNull = (s: string | null | undefined): Date | null => (s ? new Date(s) : null);

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

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function summary(n: Notice, links: Links) {
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

function revisionOut(r: RevisionDetail) {
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
function changesOf(b: Omit<z.infer<typeof ResubmitBody>, 'comment'>): ResubmitInput {
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

function approvalOut(a: ApprovalState) {
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

function proposalOut(p: ProposedRevision) {
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
function acceptedOut(r: Released | Proposed) {
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

function approvalResult(r: ApprovalResult) {
  return {
    id: r.notice.id,
    revision: r.notice.currentRevision,
    status: r.notice.status,
    released: r.released,
    approval: approvalOut(r.approval),
  };
}

type ErrorStatus = Parameters<typeof errorResponses>[number];

/** An approval step (approve, return, resubmit): a POST on one notice, answered with its approval state. */
function approvalRoute<Body extends z.ZodType, Status extends ErrorStatus>(step: {
  path: `/v1/notices/{id}/${string}`;
  summary: string;
  description: string;
  role: ReturnType<typeof requireRole>;
  body: Body;
  bodyRequired: boolean;
  /** What the 200 answer means. */
  done: string;
  errors: Status[];
}) {
  return createRoute({
    method: 'post',
    path: step.path,
    tags: ['approval'],
    summary: step.summary,
    description: step.description,
    security: bearer,
    middleware: [step.role] as const,
    request: {
      params: IdParam,
      body: { content: { 'application/json': { schema: step.body } }, required: step.bodyRequired },
    },
    responses: {
      200: { description: step.done, content: { 'application/json': { schema: ApprovalResultOut } } },
      ...errorResponses(...step.errors),
    },
  });
}

export interface NoticeRoutesDeps {
  tokens: Pick<TokenRepo, 'check'>;
  notices: NoticeService;
  links: Links;
}

/** The staff API for notices: post, list, read, correct, cancel, retry, preview, and approval. */
export function createNoticeRoutes({ tokens, notices, links }: NoticeRoutesDeps) {
  const app = createRouter();
  const author = requireRole(tokens, 'author');
  const approver = requireRole(tokens, 'approver');

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/notices',
      tags: ['notices'],
      summary: '通知を配信する / Post a notice',
      description:
        '保存して配信キューに入れる。Idempotency-Key が同じで本文も同じなら最初の通知を返し、何も送らない。 / Stores the notice and queues its dispatch; the same Idempotency-Key and body returns the first notice and sends nothing again.',
      security: bearer,
      middleware: [author] as const,
      request: {
        headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional() }),
        body: { content: { 'application/json': { schema: NoticeBody } }, required: true },
      },
      responses: {
        202: { description: '受け付けた / Accepted', content: { 'application/json': { schema: Accepted } } },
        ...errorResponses(400, 401, 403, 413, 415, 422, 503),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const key = c.req.valid('header')['idempotency-key'];
      const result = await notices.post(toNoticeInput(body), c.get('staff'), key);
      if (result.replayed) c.header('Idempotent-Replayed', 'true');
      return c.json(
        { id: result.notice.id, revision: result.notice.currentRevision, status: result.notice.status },
        202,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/notices',
      tags: ['notices'],
      summary: '通知の一覧（新しい順） / List notices, newest first',
      security: bearer,
      middleware: [author] as const,
      request: {
        query: z.object({
          limit: z.coerce.number().int().min(1).max(100).default(20),
          cursor: z
            .string()
            .min(1)
            .max(100)
            .optional()
            .openapi({ description: '前のページの nextCursor / nextCursor of the previous page' }),
          status: NoticeStatusEnum.optional(),
        }),
      },
      responses: {
        200: {
          description: '一覧 / A page',
          content: {
            'application/json': {
              schema: z
                .object({ items: z.array(NoticeSummary), nextCursor: z.string().nullable() })
                .openapi('NoticePage'),
            },
          },
        },
        ...errorResponses(400, 401, 403),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const page = await notices.list({
        limit: q.limit,
        ...(q.cursor ? { cursor: q.cursor } : {}),
        ...(q.status ? { status: q.status } : {}),
      });
      return c.json({ items: page.items.map((n) => summary(n, links)), nextCursor: page.nextCursor }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/notices/{id}',
      tags: ['notices'],
      summary: '通知の詳細と配信件数 / A notice, its revisions and delivery counts',
      security: bearer,
      middleware: [author] as const,
      request: { params: IdParam },
      responses: {
        200: { description: '通知 / The notice', content: { 'application/json': { schema: NoticeDetailOut } } },
        ...errorResponses(401, 403, 404),
      },
    }),
    async (c) => {
      const detail = await notices.get(c.req.valid('param').id);
      return c.json(
        {
          ...summary(detail.notice, links),
          status: detail.status,
          revisions: detail.revisions.map(revisionOut),
          approval: approvalOut(detail.approval),
          proposal: detail.proposal ? proposalOut(detail.proposal) : null,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/notices/{id}/deliveries',
      tags: ['notices'],
      summary: '配信記録（宛先アドレスは含まない） / Delivery rows, never addresses',
      security: bearer,
      middleware: [author] as const,
      request: {
        params: IdParam,
        query: z.object({
          channel: z.enum(CHANNEL_IDS).optional(),
          status: z.enum(['queued', 'sent', 'failed', 'skipped']).optional(),
          // A revision is a 32-bit integer in the store: a larger one names no revision, and PostgreSQL would fail on it.
          revision: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
          cursor: z.coerce
            .number()
            .int()
            .min(1)
            .optional()
            .openapi({ description: '前のページの nextCursor / nextCursor of the previous page' }),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
      },
      responses: {
        200: {
          description: '配信記録 / A page of delivery rows',
          content: {
            'application/json': {
              schema: z
                .object({ items: z.array(DeliveryOut), nextCursor: z.number().int().nullable() })
                .openapi('DeliveryPage'),
            },
          },
        },
        ...errorResponses(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const page = await notices.deliveries(c.req.valid('param').id, {
        limit: q.limit,
        ...(q.channel ? { channel: q.channel } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.revision ? { revision: q.revision } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      return c.json(
        {
          // Only the row's own fields, listed one by one, so a join added later cannot leak an address.
          items: page.items.map((d) => ({
            id: d.id,
            revision: d.revision,
            channel: d.channel,
            recipient: d.recipient,
            status: d.status,
            attempts: d.attempts,
            lastError: d.lastError,
            providerId: d.providerId,
            createdAt: d.createdAt,
            updatedAt: d.updatedAt,
            sentAt: d.sentAt,
          })),
          nextCursor: page.nextCursor,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/notices/{id}/revisions',
      tags: ['notices'],
      summary: '訂正する（新しい版を配信） / Correct: a new revision, sent again',
      security: bearer,
      middleware: [author] as const,
      request: {
        params: IdParam,
        body: { content: { 'application/json': { schema: CorrectionBody } }, required: true },
      },
      responses: {
        202: { description: '受け付けた / Accepted', content: { 'application/json': { schema: Accepted } } },
        ...errorResponses(400, 401, 403, 404, 409, 413, 415, 503),
      },
    }),
    async (c) => {
      const result = await notices.correct(c.req.valid('param').id, changesOf(c.req.valid('json')), c.get('staff'));
      return c.json(acceptedOut(result), 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/notices/{id}/cancel',
      tags: ['notices'],
      summary: '取り消す / Cancel',
      description:
        '取消の版を同じ宛先へ配信する。予約中でまだ配信していない通知は、何も送らずに取り消す。 / Sends a cancel revision to the same audience; a scheduled notice not yet sent is withdrawn silently.',
      security: bearer,
      middleware: [author] as const,
      request: { params: IdParam, body: { content: { 'application/json': { schema: CancelBody } }, required: false } },
      responses: {
        202: {
          description: '受け付けた / Accepted',
          content: {
            'application/json': { schema: Accepted.extend({ sent: z.boolean() }).openapi('NoticeCancelled') },
          },
        },
        ...errorResponses(400, 401, 403, 404, 409, 415, 503),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const result = await notices.cancel(c.req.valid('param').id, body.reason || undefined, c.get('staff'));
      return c.json({ ...acceptedOut(result), sent: result.sent ?? false }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/notices/{id}/retry',
      tags: ['notices'],
      summary: '失敗した配信をやり直す / Re-queue failed deliveries',
      security: bearer,
      middleware: [author] as const,
      request: { params: IdParam },
      responses: {
        202: {
          description: '受け付けた / Accepted',
          content: {
            'application/json': {
              schema: z
                .object({
                  id: z.string(),
                  revision: z.number().int(),
                  rows: z.number().int(),
                  batches: z.number().int(),
                  dispatchRestarted: z.boolean(),
                })
                .openapi('RetryResult'),
            },
          },
        },
        ...errorResponses(401, 403, 404, 503),
      },
    }),
    async (c) => {
      const id = c.req.valid('param').id;
      const r = await notices.retry(id, c.get('staff'));
      return c.json({ id, ...r }, 202);
    },
  );

  app.openapi(
    approvalRoute({
      path: '/v1/notices/{id}/approve',
      summary: '承認する / Approve',
      description:
        '承認待ちの通知を承認する。必要な数（緊急は EMERGENCY_APPROVALS、それ以外は 1）の別々の承認者がそろうと配信キューに入る。申請者本人は承認できない。 / Approves a notice waiting for approval; once enough distinct approvers have approved (EMERGENCY_APPROVALS for an emergency, else 1) it is queued. Nobody approves their own submission.',
      role: approver,
      body: ApproveBody,
      bodyRequired: false,
      done: '承認した / Approved',
      errors: [400, 401, 403, 404, 409, 415, 503],
    }),
    async (c) => {
      const body = c.req.valid('json');
      const result = await notices.approve(c.req.valid('param').id, body.comment, c.get('staff'));
      return c.json(approvalResult(result), 200);
    },
  );

  app.openapi(
    approvalRoute({
      path: '/v1/notices/{id}/return',
      summary: '差し戻す / Return for changes',
      description:
        '承認待ちの通知を、直すことをコメントに書いて作成者に差し戻す。何も配信しない。 / Sends a notice waiting for approval back to its author with a comment; nothing is sent.',
      role: approver,
      body: ReturnBody,
      bodyRequired: true,
      done: '差し戻した / Returned',
      errors: [400, 401, 403, 404, 409, 415],
    }),
    async (c) => {
      const body = c.req.valid('json');
      const result = await notices.returnForChanges(c.req.valid('param').id, body.comment, c.get('staff'));
      return c.json(approvalResult(result), 200);
    },
  );

  app.openapi(
    approvalRoute({
      path: '/v1/notices/{id}/resubmit',
      summary: '直して再申請する / Change and resubmit',
      description:
        '差し戻された通知の内容を直して、もう一度承認を申請する（第1版をそのまま書き換える。承認は最初から）。 / Changes a returned notice and submits it again: revision 1 is rewritten in place (nothing was sent) and approvals start over.',
      role: author,
      body: ResubmitBody,
      bodyRequired: true,
      done: '再申請した / Resubmitted',
      errors: [400, 401, 403, 404, 409, 413, 415],
    }),
    async (c) => {
      const { comment, ...changes } = c.req.valid('json');
      const result = await notices.resubmit(c.req.valid('param').id, changesOf(changes), c.get('staff'), comment);
      return c.json(approvalResult(result), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/preview',
      tags: ['notices'],
      summary: '全チャネルの表示を確認（送信しない） / Render on every channel; sends nothing',
      security: bearer,
      middleware: [author] as const,
      request: { body: { content: { 'application/json': { schema: NoticeBody } }, required: true } },
      responses: {
        200: {
          description: 'チャネル・言語ごとの表示 / Renders per channel and locale',
          content: {
            'application/json': {
              schema: z
                .object({
                  view: z.record(z.string(), z.unknown()),
                  renders: z.array(
                    z.object({
                      channel: z.enum(CHANNEL_IDS),
                      locale: z.enum(['ja', 'en']),
                      rendered: z.unknown().optional(),
                      error: z.string().optional(),
                    }),
                  ),
                })
                .openapi('Preview'),
            },
          },
        },
        ...errorResponses(400, 401, 403, 413, 415),
      },
    }),
    (c) => {
      const result = notices.preview(toNoticeInput(c.req.valid('json')));
      return c.json({ view: { ...result.view }, renders: result.renders }, 200);
    },
  );

  return app;
}
