import { setTimeout as sleep } from 'node:timers/promises';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { ApiError } from '../../http/errors.ts';
import type { ConsolePageModule } from './console-routes.tsx';
import { renderCancelPage } from './notice-cancel-page.tsx';
import { renderNoticeDetail } from './notice-detail-view.tsx';
import { noticePath, noticeRoutes } from './notice-paths.ts';
import { loadProgress } from './notice-progress.ts';
import { type ConsoleEnv, formField } from './session.ts';
import { createStreamSlots, releasing, STREAMS_PER_SESSION } from './stream-slots.ts';

/**
 * The notice page's routes: the page, its live progress stream (server-sent events for
 * progress.js), retry, and cancel. Every action goes through the notice service.
 */

/** How often live progress is sent while deliveries are queued. */
const PROGRESS_INTERVAL_MS = 1000;
/** One stream at most this long: the browser's EventSource then reconnects and gets a fresh one. */
const MAX_STREAM_MS = 10 * 60 * 1000;

export const createNoticeDetailPage: ConsolePageModule = (ctx) => {
  const app = new Hono<ConsoleEnv>();
  const logger = ctx.deps.logger.child({ component: 'console-progress' });
  const onNotice = noticeRoutes(app, ctx.guard('author'));
  const slots = createStreamSlots();

  onNotice('get', '', (c, id) => renderNoticeDetail(c, ctx, id));

  onNotice('get', '/events', async (c, id) => {
    // Before the stream starts, so an unknown notice is a 404 the EventSource gives up on.
    const first = await loadProgress(ctx.notices, ctx.deps.store.deliveries, id);
    // The guard let only a signed-in session here; its CSRF token is the session's own name.
    const release = slots.take(c.get('session')?.csrfToken ?? '');
    if (!release) {
      logger.info(
        { noticeId: id, max: STREAMS_PER_SESSION },
        'progress stream refused: the session has its streams open',
      );
      // A 429 ends an EventSource for good (it retries only a dropped 200): the page keeps its last counts.
      throw new ApiError(
        429,
        'too_many_streams',
        {
          ja: `進み具合を表示している画面が多すぎます（1 つのサインインで ${STREAMS_PER_SESSION} つまで）。ほかのタブを閉じてから、この画面を再読み込みしてください。`,
          en: `Too many pages are showing live progress (${STREAMS_PER_SESSION} per sign-in). Close other tabs, then reload this page.`,
        },
        { headers: { 'Retry-After': '10' } },
      );
    }
    return streamSSE(
      c,
      // The slot is given back however the stream ends: done, closed by the browser, cut after MAX_STREAM_MS, or failed.
      releasing(release, async (stream) => {
        const aborted = new AbortController();
        stream.onAbort(() => aborted.abort());
        const started = Date.now();
        let progress = first.progress;
        let initial = true;
        for (;;) {
          const final = !progress.live;
          await stream.writeSSE({
            event: final ? 'done' : 'progress',
            data: JSON.stringify(progress),
            ...(initial ? { retry: 5000 } : {}),
          });
          initial = false;
          if (final || aborted.signal.aborted || Date.now() - started >= MAX_STREAM_MS) return;
          await sleep(PROGRESS_INTERVAL_MS, undefined, { signal: aborted.signal }).catch(() => undefined);
          if (aborted.signal.aborted) return;
          progress = (await loadProgress(ctx.notices, ctx.deps.store.deliveries, id)).progress;
        }
      }),
      async (err) => {
        logger.error({ noticeId: id, err: { message: err.message } }, 'progress stream failed');
      },
    );
  });

  onNotice('post', '/retry', async (c, id) => {
    const result = await ctx.notices.retry(id, c.get('staff'));
    return c.redirect(`${noticePath(id)}?done=retried&rows=${result.rows}`, 303);
  });

  onNotice('get', '/cancel', (c, id) => renderCancelPage(c, ctx, id));

  onNotice('post', '/cancel', async (c, id) => {
    const reason = ((await formField(c, 'reason')) ?? '').trim();
    if ((await formField(c, 'confirm')) !== 'yes') {
      return renderCancelPage(c, ctx, id, {
        reason,
        errors: {
          'cancel-confirm': [
            { ja: '取り消す前に、確認の欄にチェックを入れてください', en: 'Tick the confirmation box to cancel' },
          ],
        },
      });
    }
    const result = await ctx.notices.cancel(id, reason === '' ? undefined : reason, c.get('staff'));
    const done = result.proposal
      ? 'proposed'
      : result.revision.kind !== 'cancel'
        ? 'withdrawn'
        : result.sent
          ? 'cancelled'
          : 'cancelled_silent';
    return c.redirect(`${noticePath(id)}?done=${done}`, 303);
  });

  return app;
};
