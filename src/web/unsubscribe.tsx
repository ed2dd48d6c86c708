import { type Context, Hono } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Links } from '../domain/links.ts';
import type { Logger } from '../logger.ts';
import type { SubscriberRepo } from '../store/subscribers.ts';
import { En, Layout, sendPage } from './layout.tsx';

export interface UnsubscribeDeps {
  subscribers: Pick<SubscriberRepo, 'contact' | 'unsubscribeContact'>;
  links: Pick<Links, 'verifyUnsubscribeToken'>;
  city: { name: string; nameEn: string };
  logger: Logger;
}

/** RFC 8058: the body a mail client POSTs for one-click unsubscribe. */
const ONE_CLICK = 'One-Click';

/** The link carries a secret; it must not travel on in a Referer or sit in a cache. */
const PRIVATE = { cache: 'no-store', headers: { 'Referrer-Policy': 'no-referrer' } };

function readLink(c: Context): { contactId: number; token: string } | undefined {
  const c1 = c.req.query('c') ?? '';
  const token = c.req.query('t') ?? '';
  if (!/^[1-9]\d{0,15}$/.test(c1) || token.length === 0 || token.length > 200) return undefined;
  return { contactId: Number(c1), token };
}

/**
 * GET shows a confirmation page and changes nothing, because mail scanners follow links;
 * POST stops the mail, from the page's button or from a mail client's one-click request.
 */
export function createUnsubscribeRoutes(deps: UnsubscribeDeps): Hono {
  const app = new Hono();
  const { city } = deps;

  const page = (c: Context, status: ContentfulStatusCode, title: string, body: Child) =>
    sendPage(
      c,
      <Layout title={`${title} | ${city.name}`} siteName={city.name} siteNameEn={city.nameEn}>
        {body}
      </Layout>,
      status,
      PRIVATE.cache,
      PRIVATE.headers,
    );

  const badLink = (c: Context) =>
    page(
      c,
      400,
      'リンクが正しくありません',
      <>
        <h1>リンクが正しくありません</h1>
        <p>
          配信停止のリンクが途中で切れているか、正しくありません。メールの中のリンクをもう一度開くか、{city.name}
          へお問い合わせください。
          <En>
            This unsubscribe link is incomplete or invalid. Open the link in the e-mail again, or contact {city.nameEn}.
          </En>
        </p>
      </>,
    );

  const done = (c: Context, already: boolean) =>
    page(
      c,
      200,
      '配信を停止しました',
      <>
        <h1>
          {already ? '配信はすでに停止しています' : '配信を停止しました'}{' '}
          <span lang="en">/ {already ? 'Already unsubscribed' : 'Unsubscribed'}</span>
        </h1>
        <p role="status">
          {already
            ? 'このメールアドレスへの配信は、すでに停止しています。'
            : 'このメールアドレスへの防災・お知らせメールの配信を停止しました。これ以上メールは届きません。'}
          <En>
            {already
              ? 'Mail to this address was already stopped.'
              : 'You will no longer receive alert e-mails at this address.'}
          </En>
        </p>
        <p>
          <a href="/subscribe">もう一度登録する</a>
          <En>
            <a href="/subscribe">Sign up again</a>
          </En>
        </p>
      </>,
    );

  app.get('/unsubscribe', async (c) => {
    const link = readLink(c);
    if (!link || !deps.links.verifyUnsubscribeToken(link.contactId, link.token)) return badLink(c);
    const contact = await deps.subscribers.contact(link.contactId);
    if (!contact?.active) return done(c, true);
    const action = `/unsubscribe?c=${link.contactId}&t=${encodeURIComponent(link.token)}`;
    return page(
      c,
      200,
      'メール配信の停止',
      <>
        <h1>
          メール配信の停止 <span lang="en">/ Unsubscribe</span>
        </h1>
        <p>
          {city.name}の防災・お知らせメールの配信を停止します。よろしければ下のボタンを押してください。
          <En>Press the button below to stop receiving alert e-mails from {city.nameEn}.</En>
        </p>
        <p class="muted" id="consequence">
          停止すると、緊急の防災情報もメールでは届かなくなります。
          <En>Once stopped, emergency alerts will no longer reach you by e-mail either.</En>
        </p>
        <p>
          受け取る分野・地域・言語を変えるだけなら、メールの下にある「登録内容の変更」のリンクからできます。
          <En>To change only your topics, areas or language, use the “Change” link at the bottom of the e-mail.</En>
        </p>
        <form method="post" action={action}>
          <input type="hidden" name="List-Unsubscribe" value={ONE_CLICK} />
          <input type="hidden" name="from" value="page" />
          <button type="submit" id="confirm" aria-describedby="consequence">
            配信を停止する <span lang="en">/ Unsubscribe</span>
          </button>
        </form>
      </>,
    );
  });

  app.post('/unsubscribe', async (c) => {
    const link = readLink(c);
    const type = (c.req.header('content-type') ?? '').toLowerCase();
    const form =
      type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')
        ? await c.req.parseBody().catch(() => ({}) as Record<string, unknown>)
        : {};
    const fromPage = form.from === 'page';
    const plain = (status: ContentfulStatusCode, ja: string, en: string) =>
      c.text(`${ja}\n${en}\n`, status, { 'Cache-Control': 'no-store' });

    if (form['List-Unsubscribe'] !== ONE_CLICK) {
      return plain(
        400,
        '本文に List-Unsubscribe=One-Click が必要です（RFC 8058）',
        'The body must be List-Unsubscribe=One-Click (RFC 8058)',
      );
    }
    if (!link || !deps.links.verifyUnsubscribeToken(link.contactId, link.token)) {
      return fromPage ? badLink(c) : plain(400, '配信停止のリンクが正しくありません', 'Invalid unsubscribe link');
    }
    const contact = await deps.subscribers.contact(link.contactId);
    const already = !contact?.active;
    if (!already) {
      // Also voids the manage links in every mail sent before (issue 12, finding 9).
      await deps.subscribers.unsubscribeContact(link.contactId);
      deps.logger.info({ contactId: link.contactId, via: fromPage ? 'page' : 'one-click' }, 'contact unsubscribed');
    }
    if (fromPage) return done(c, already);
    return plain(200, '配信を停止しました', 'Unsubscribed');
  });

  return app;
}
