import { type Context, Hono } from 'hono';
import type { Catalogue } from '../domain/catalogue.ts';
import { En, Layout } from './layout.tsx';
import { PUSH_PAGE_JS, pushManifest, SERVICE_WORKER_JS } from './push-assets.ts';
import { BADGE_SIZE, createIconCache, ICON_RED, ICON_SIZES, pushIconSvg } from './push-icon.ts';
import { ChoiceFields } from './resident-forms.tsx';

export interface PushPageDeps {
  catalogue: Catalogue;
  city: { code: string; name: string; nameEn: string };
  /** Topics ticked when the page opens (e.g. config.line.defaultTopics); the resident can untick them. */
  defaultTopics?: readonly string[];
  /** The e-mail sign-up page, offered to browsers without push; default /subscribe. */
  mailSignupPath?: string;
}

/** The page's own script, the service worker and fetches to this origin: nothing else may run or load. */
export const PUSH_PAGE_CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** What the shared layout has no room for: the manifest, icons, theme colour and the form's look. */
const HEAD_EXTRA = `<link rel="manifest" href="/manifest.webmanifest"/>
<link rel="icon" href="/push/icon.svg" type="image/svg+xml"/>
<link rel="apple-touch-icon" href="/push/icon-180.png"/>
<meta name="theme-color" content="${ICON_RED}"/>
<meta name="apple-mobile-web-app-capable" content="yes"/>
<style>
fieldset{border:1px solid #6b6b6b;border-radius:.375rem;margin:1rem 0;padding:.5rem 1rem 1rem}
legend{font-weight:700;padding:0 .25rem}
ul.choices{list-style:none;margin:0;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.25rem 1rem}
ul.choices label{display:flex;align-items:center;gap:.6rem;min-height:2.75rem;cursor:pointer}
ul.choices .en{display:inline;margin-left:.25rem}
input[type=checkbox],input[type=radio]{width:1.5rem;height:1.5rem;margin:0;flex:none;accent-color:#b00020}
input:focus-visible{outline:3px solid #ffbf47;outline-offset:2px;box-shadow:0 0 0 5px #1a1a1a}
.hint{margin:.25rem 0 .75rem;color:#4a4a4a}
.note{border-left:.5rem solid #b00020;background:#fbeaec;padding:.75rem 1rem;margin:1rem 0}
.actions{display:flex;flex-wrap:wrap;gap:1rem;margin:1.5rem 0 1rem}
button.secondary{background:#fff;color:#1a1a1a}
button[disabled]{opacity:.6;cursor:progress}
[hidden]{display:none!important}
.status{min-height:1.8em;font-weight:700}
.status.error{color:#b00020}
.status.ok{color:#1b5e20}
.notice-box{border:2px solid #1a1a1a;border-radius:.375rem;padding:.75rem 1rem;margin:1rem 0}
</style>`;

const SCRIPT = '<script src="/push/app.js" defer></script>';

function PushPage(props: PushPageDeps) {
  const { catalogue, city } = props;
  const defaults = new Set(props.defaultTopics ?? []);
  const mail = props.mailSignupPath ?? '/subscribe';
  return (
    <Layout title={`通知を受け取る | ${city.name}`} siteName={city.name} siteNameEn={city.nameEn}>
      <h1>
        スマートフォンやパソコンに通知を受け取る <span lang="en">/ Get alerts as notifications</span>
      </h1>
      <p>
        {city.name}
        の防災情報やお知らせを、この端末（スマートフォン・タブレット・パソコン）のブラウザーの通知で受け取れます。メールアドレスや
        LINE は要りません。
        <En>
          Receive alerts and notices from {city.nameEn} as notifications on this phone, tablet or computer. No e-mail
          address or LINE account is needed.
        </En>
      </p>
      <p class="note" id="emergency-note">
        緊急の情報（避難指示など）は、選んだ話題にかかわらず、選んだ地域（選ばなければ市内全域）のすべての登録者に届きます。
        <En>
          Emergency alerts (such as evacuation orders) reach everyone registered for the area, whatever topics they
          chose.
        </En>
      </p>

      <noscript>
        <p class="notice-box">
          通知を受け取るには JavaScript を有効にしてください。JavaScript
          を使えない場合は、メールでの受け取りをご利用ください。
          <En>Notifications need JavaScript. Without it, please subscribe by e-mail instead.</En>
        </p>
      </noscript>
      <p class="notice-box" id="unsupported" hidden>
        このブラウザーは通知（Web プッシュ）に対応していません。Chrome・Edge・Firefox・Safari
        の新しい版でお試しいただくか、<a href={mail}>メールでの受け取り</a>をご利用ください。
        <En>
          This browser does not support web push notifications. Try a recent Chrome, Edge, Firefox or Safari, or{' '}
          <a href={mail}>subscribe by e-mail</a>.
        </En>
      </p>
      <div class="notice-box" id="ios-hint" hidden>
        <p>
          iPhone・iPad では、まずこのページをホーム画面に追加してください。Safari
          の共有ボタン（□に↑）から「ホーム画面に追加」を選び、ホーム画面にできた「響」のアイコンからこのページを開いて、ボタンを押します（iOS
          16.4 以降）。
          <En>
            On iPhone or iPad, first add this page to your home screen: in Safari tap Share, then “Add to Home Screen”,
            open the new “響” icon and press the button there (iOS 16.4 or later).
          </En>
        </p>
      </div>

      <form id="push-form" aria-describedby="emergency-note">
        <ChoiceFields
          catalogue={catalogue}
          city={city}
          values={{ topics: [...defaults], areas: [], locale: 'ja' }}
          languageOf={{ ja: '通知', en: 'the notifications' }}
        />

        <div class="actions">
          <button type="submit" id="subscribe" hidden>
            通知を受け取る <span lang="en">/ Get notifications</span>
          </button>
          <button type="button" id="unsubscribe" class="secondary" hidden>
            通知を止める <span lang="en">/ Stop notifications</span>
          </button>
        </div>
        <p id="status" class="status" role="status" aria-live="polite"></p>
      </form>

      <h2>
        ご注意 <span lang="en">/ Please note</span>
      </h2>
      <ul>
        <li>
          ボタンを押すと、ブラウザーが通知の許可を求めます。「許可」を選んでください。
          <En>When you press the button, the browser asks to allow notifications: choose “Allow”.</En>
        </li>
        <li>
          通知はこの端末とブラウザーだけに届きます。別の端末でも受け取るには、その端末でもこのページを開いてください。
          <En>Notifications reach this device and browser only; open this page on each device you want them on.</En>
        </li>
        <li>
          止めるときは、このページの「通知を止める」を押すか、ブラウザーの設定でこのサイトの通知をオフにしてください。
          <En>To stop, press “Stop notifications” here, or turn off notifications for this site in your browser.</En>
        </li>
        <li>
          通知が届かないことがあります（電源が切れている、通信できないなど）。大切な情報は防災無線やテレビ・ラジオでもご確認ください。
          <En>
            A notification can fail to arrive (a phone that is off or offline). Check important information on the
            city's loudspeakers, TV or radio too.
          </En>
        </li>
      </ul>
    </Layout>
  );
}

async function renderPushPage(deps: PushPageDeps): Promise<string> {
  const html = `<!DOCTYPE html>${await Promise.resolve(PushPage(deps).toString())}`;
  // The shared layout takes no head content or scripts; they go in around it here.
  return html.replace('</head>', `${HEAD_EXTRA}</head>`).replace('</body>', `${SCRIPT}</body>`);
}

const text = (c: Context, body: string | Uint8Array, type: string, cache: string, extra: Record<string, string> = {}) =>
  c.body(body as string, 200, {
    'Content-Type': type,
    'Cache-Control': cache,
    'X-Content-Type-Options': 'nosniff',
    ...extra,
  });

/**
 * GET /push (the page), /push/app.js, /sw.js, /manifest.webmanifest and the icons. The
 * service worker lives at the root so it may show notifications for every public page.
 */
export function createPushPageRoutes(deps: PushPageDeps): Hono {
  const app = new Hono();
  const icon = createIconCache();
  let page: Promise<string> | undefined;

  app.get('/push', async (c) => {
    page ??= renderPushPage(deps);
    return c.html(await page, 200, {
      'Cache-Control': 'public, max-age=300',
      'Content-Security-Policy': PUSH_PAGE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
    });
  });

  app.get('/push/app.js', (c) => text(c, PUSH_PAGE_JS, 'text/javascript; charset=utf-8', 'no-cache'));

  // Browsers look for a new service worker at least daily; no-cache makes them see it at once.
  app.get('/sw.js', (c) =>
    text(c, SERVICE_WORKER_JS, 'text/javascript; charset=utf-8', 'no-cache', { 'Service-Worker-Allowed': '/' }),
  );

  app.get('/manifest.webmanifest', (c) =>
    text(
      c,
      JSON.stringify(pushManifest(deps.city)),
      'application/manifest+json; charset=utf-8',
      'public, max-age=3600',
    ),
  );

  app.get('/push/icon.svg', (c) => text(c, pushIconSvg(), 'image/svg+xml', 'public, max-age=86400'));
  for (const size of ICON_SIZES) {
    app.get(`/push/icon-${size}.png`, (c) => text(c, icon(size), 'image/png', 'public, max-age=86400'));
  }
  app.get(`/push/badge-${BADGE_SIZE}.png`, (c) =>
    text(c, icon(BADGE_SIZE, true), 'image/png', 'public, max-age=86400'),
  );

  return app;
}
