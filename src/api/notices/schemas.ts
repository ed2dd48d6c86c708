import { createRoute, z } from '@hono/zod-openapi';
import { DERIVED_STATUSES } from '../../domain/labels.ts';
import { CATEGORIES, CHANNEL_IDS, MODES, SEVERITIES } from '../../domain/notice.ts';
import type { requireRole } from '../../http/auth.ts';
import { DEPARTMENT_MAX } from '../../services/notices/index.ts';
import { AreaCode } from '../fields.ts';
import { bearer, errorResponses } from '../router.ts';

/** The request and response schemas of the notices API, as OpenAPI documents them. */

export const isoDateTime = z.iso.datetime({ offset: true }).openapi({
  description: 'ISO 8601（タイムゾーン付き） / ISO 8601 with offset',
  example: '2026-11-26T19:40:00+09:00',
});

export const noticeFields = {
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
export const NoticeStatusEnum = z.enum([
  'pending_approval',
  'returned',
  'scheduled',
  'queued',
  'dispatched',
  'cancelled',
]);

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

export const CorrectionBody = z
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

export const ResubmitBody = z
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

export const ApproveBody = z
  .strictObject({
    comment: z.string().trim().max(2000).optional().openapi({ example: '内容を確認しました。' }),
  })
  .openapi('NoticeApproval');

export const ReturnBody = z
  .strictObject({
    comment: z.string().max(2000).optional().openapi({
      description: '必須: 何を直すか / required: what to change',
      example: '避難所の名前を確認してください。',
    }),
  })
  .openapi('NoticeReturn');

export const ApprovalOut = z
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

export const ApprovalResultOut = z
  .object({
    id: z.string(),
    revision: z.number().int(),
    status: NoticeStatusEnum,
    released: z.boolean().openapi({ description: 'この操作で配信キューに入った / this step sent it to the queue' }),
    approval: ApprovalOut,
  })
  .openapi('ApprovalResult');

export const CancelBody = z
  .strictObject({
    reason: z.string().trim().max(2000).optional().openapi({ example: '誤って配信したため取り消します。' }),
  })
  .openapi('NoticeCancel');

export const Accepted = z
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

export const NoticeSummary = z
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

export const Counts = z.object({ queued: z.number(), sent: z.number(), failed: z.number(), skipped: z.number() });

export const RevisionOut = z
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

export const ProposalOut = z
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

export const NoticeDetailOut = NoticeSummary.extend({
  status: z.enum(DERIVED_STATUSES),
  revisions: z.array(RevisionOut),
  approval: ApprovalOut,
  proposal: ProposalOut.nullable().openapi({
    description:
      '承認待ちの訂正・取消（緊急の通知に関わるもの）。承認されるまで誰にも配信されない / a correction or cancellation touching an emergency, waiting for approval; nothing is sent until it is approved',
  }),
}).openapi('NoticeDetail');

export const DeliveryOut = z
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

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'n01kzz8x5d3qv7m2r4t6w8y0ab' }),
});

type ErrorStatus = Parameters<typeof errorResponses>[number];

/** An approval step (approve, return, resubmit): a POST on one notice, answered with its approval state. */
export function approvalRoute<Body extends z.ZodType, Status extends ErrorStatus>(step: {
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
