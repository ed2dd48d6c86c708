import { createRoute, z } from '@hono/zod-openapi';
import type { Links } from '../../domain/links.ts';
import { CHANNEL_IDS } from '../../domain/notice.ts';
import { requireRole } from '../../http/auth.ts';
import type { NoticeService } from '../../services/notices/index.ts';
import type { TokenRepo } from '../../store/tokens.ts';
import { bearer, createRouter, errorResponses } from '../router.ts';
import {
  acceptedOut,
  approvalOut,
  approvalResult,
  changesOf,
  proposalOut,
  revisionOut,
  summary,
  toNoticeInput,
} from './mappers.ts';
import {
  Accepted,
  ApproveBody,
  approvalRoute,
  CancelBody,
  CorrectionBody,
  DeliveryOut,
  IdParam,
  NoticeBody,
  NoticeDetailOut,
  NoticeStatusEnum,
  NoticeSummary,
  ResubmitBody,
  ReturnBody,
} from './schemas.ts';

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
