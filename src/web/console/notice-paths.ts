import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { ConsoleEnv } from './session.ts';

/** Where a notice's console pages live, and how routes under /console/notices/:id tell a notice id from another page. */

/** What newId('n') makes; anything else under /console/notices/ (new, …) is another page's. */
const NOTICE_ID = /^n[0-9a-z]{20}$/;
export const isNoticeId = (id: string): boolean => NOTICE_ID.test(id);

export const noticePath = (id: string): string => `/console/notices/${encodeURIComponent(id)}`;

type NoticeHandler = (c: Context<ConsoleEnv>, id: string) => Response | Promise<Response>;

/**
 * Adds routes under /console/notices/:id behind one guard, each handler given the notice's
 * id; any other :id (new, preview, …) is left to another page's route.
 */
export const noticeRoutes =
  (app: Hono<ConsoleEnv>, guard: MiddlewareHandler<ConsoleEnv>) =>
  (method: 'get' | 'post', below: '' | `/${string}`, handler: NoticeHandler): void => {
    app.on(method.toUpperCase(), `/console/notices/:id${below}`, guard, async (c, next) => {
      const id = c.req.param('id') ?? '';
      if (!isNoticeId(id)) return next();
      return handler(c, id);
    });
  };
