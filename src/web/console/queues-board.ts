import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type MiddlewareHandler } from 'hono';
import { DELIVER_LANES, DISPATCH_QUEUE } from '../../queue/names.ts';
import type { ConsolePageModule } from './console-routes.tsx';
import type { ConsoleEnv } from './session.ts';

export const QUEUES_BOARD_PATH = '/console/queues';

/**
 * The board is a React app served from its own static path: scripts, styles and a worker from
 * 'self', inline styles, a <base href> to the board's path (so base-uri must allow 'self',
 * unlike the console's 'none'), data polled from its API. Its Google Fonts stylesheet is left
 * blocked: staff browsers should not call a third party, and the system font serves. Never framed.
 */
export const QUEUES_BOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Security headers on everything the board answers; its static files are hashed, so they may be kept. */
const boardHeaders: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  await next();
  const headers = c.res.headers;
  // A refusal page from the guard keeps its own, stricter policy.
  if (!headers.has('Content-Security-Policy')) headers.set('Content-Security-Policy', QUEUES_BOARD_CSP);
  headers.set('X-Content-Type-Options', 'nosniff');
  headers.set('Referrer-Policy', 'same-origin');
  headers.set(
    'Cache-Control',
    c.req.path.startsWith(`${QUEUES_BOARD_PATH}/static/`) && c.res.ok ? 'private, max-age=3600' : 'no-store',
  );
};

function describeQueue(name: string): string {
  if (name === DISPATCH_QUEUE) return '通知ごとに配信先を割り出す / resolves each notice’s recipients';
  const match = /^deliver-(.+?)(-urgent)?$/.exec(name);
  const channel = match?.[1] ?? name;
  return match?.[2]
    ? `${channel} チャネルへの緊急・警報の配信 / emergency and warning deliveries to ${channel}`
    : `${channel} チャネルへの配信 / deliveries to ${channel}`;
}

/**
 * /console/queues: Bull Board over every queue, for admins only. Every request under the path
 * (the page, its JSON API and its static files) passes the console guard first.
 *
 * The board is read-only (`readOnlyMode`): its UI sends no CSRF token, so its retry, clean,
 * pause and delete calls could not be told apart from a forged request. They are refused
 * twice over: the guard demands the session's CSRF token on every PUT/PATCH/POST/DELETE (the
 * board never has it), and read-only queues answer 405 to each such call anyway. Failed
 * deliveries are retried from the notice's own page in the console (NoticeService.retry),
 * which is audited and only resends what is still undelivered; raw job retries would bypass
 * both. The board is for seeing backlogs, rate limits and failures.
 */
export const createQueuesBoard: ConsolePageModule = (ctx) => {
  const app = new Hono<ConsoleEnv>();
  const admin = ctx.guard('admin');
  app.use(QUEUES_BOARD_PATH, admin, boardHeaders);
  app.use(`${QUEUES_BOARD_PATH}/*`, admin, boardHeaders);

  // Delivery queues are made when first used; make every enabled channel's now so the board
  // shows a channel's queue before its first notice.
  for (const channel of ctx.deps.channels.ids())
    for (const lane of DELIVER_LANES) ctx.deps.queues.deliver(channel, lane);
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(QUEUES_BOARD_PATH);
  createBullBoard({
    queues: ctx.deps.queues
      .all()
      .map((queue) => new BullMQAdapter(queue, { readOnlyMode: true, description: describeQueue(queue.name) })),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: '響 Hibiki キュー',
        locale: { lng: 'ja-JP' },
        hideDocsLink: true,
        miscLinks: [{ text: '管理画面へ戻る / Console', url: '/console/notices' }],
      },
    },
  });

  // Read-only in full, whatever bull-board checks per call: its pause-all answers 200 (doing
  // nothing to read-only queues) and its edits validate the body before refusing.
  app.on(['POST', 'PUT', 'PATCH', 'DELETE'], `${QUEUES_BOARD_PATH}/api/*`, (c) =>
    c.json({ error: 'read_only', message: 'キューの画面は読み取り専用です / The queue board is read-only' }, 405, {
      Allow: 'GET',
    }),
  );

  // The board links its overview as the path with a slash; serve it at one address.
  app.get(`${QUEUES_BOARD_PATH}/`, (c) => c.redirect(QUEUES_BOARD_PATH, 301));
  app.route(QUEUES_BOARD_PATH, serverAdapter.registerPlugin());
  return app;
};
